import { describe, expect, it } from '@jest/globals';
import { chmod, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { temporal } from '@temporalio/proto';
import {
  cancelPromotion,
  decide,
  getStatus,
  startPromotion,
  waitFinished,
  waitForApproval,
} from '../client/promotions.js';
import { environmentLockId, repositoryKey } from '../common/ids.js';
import type { PromotionRequest } from '../common/types.js';
import { freePort } from '../server/ports.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { envStatus, eventually } from './support/wait.js';
import { holderThenQueued, promotionRequest, startHolder } from './support/requests.js';
import { approveToSuccess } from './support/approve.js';
import { expectLiveAsCommitted } from './support/live.js';

/**
 * The product's one promise under ordinary faults: no failed or unapproved change rides along into a
 * deploy, and no environment is left stuck. Each test reproduces a fault for real (a push held open by a
 * hook, a repository gone for a while, a terminated run) and checks what a user would see.
 */
const suite = useTemporal();
let repo: TestRepo;

// These tests are about the lock: a manual environment held through its approval (proposals: false)
// is the simplest holder. test/proposals.test.ts covers manual environments with proposals.
const MANUAL = { approval: 'manual', proposals: false } as const;
const AUTO = { approval: 'auto' } as const;

const request = (overrides: Partial<PromotionRequest> = {}) => promotionRequest(repo, overrides);

const subjects = async () => (await repo.commits()).map((c) => c.subject);

async function currentDetails(id: string): Promise<string | undefined> {
  const handle = suite.temporal.client.workflow.getHandle(id);
  return (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails;
}

/** The compensation activity's last heartbeat: how many attempts it made, and why the last one failed. */
async function compensationProgress(id: string): Promise<{ attempts?: number; error?: string } | undefined> {
  const description = await suite.temporal.client.workflow.getHandle(id).describe();
  for (const activity of description.raw.pendingActivities ?? []) {
    const payload = activity.heartbeatDetails?.payloads?.[0];
    if (activity.activityType?.name === 'revertPromotionWithin' && payload?.data)
      return JSON.parse(Buffer.from(payload.data).toString()) as { attempts?: number; error?: string };
  }
  return undefined;
}

/** A pre-receive hook that holds every push open until the test lets it through. */
async function holdPushes(): Promise<{
  started: () => boolean;
  release: () => Promise<void>;
  done: () => boolean;
  killed: () => boolean;
}> {
  const marker = (name: string) => join(repo.root, name);
  // A push killed by its activity's cancellation takes its hook with it: recorded as `push-killed`.
  await writeFile(
    join(repo.url, 'hooks', 'pre-receive'),
    `#!/bin/sh\ntouch '${marker('push-started')}'\ntrap "touch '${marker('push-killed')}'; exit 1" TERM INT HUP\nwhile [ ! -f '${marker('push-release')}' ]; do sleep 0.05; done\n`,
  );
  await writeFile(join(repo.url, 'hooks', 'post-receive'), `#!/bin/sh\ntouch '${marker('push-done')}'\n`);
  await chmod(join(repo.url, 'hooks', 'pre-receive'), 0o755);
  await chmod(join(repo.url, 'hooks', 'post-receive'), 0o755);
  return {
    started: () => existsSync(marker('push-started')),
    release: () => writeFile(marker('push-release'), ''),
    done: () => existsSync(marker('push-done')),
    killed: () => existsSync(marker('push-killed')),
  };
}

describe('a cancel or failure during the bump', () => {
  it('leaves no commit behind, even when the push lands after the cancel', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', ...AUTO }] });
    const original = await repo.file('environments/dev.yaml');
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const pushes = await holdPushes();
      const handle = await startPromotion(suite.temporal.client, request(), { taskQueue });
      await eventually('the bump to start pushing', () => Promise.resolve(pushes.started() || undefined));

      await cancelPromotion(suite.temporal.client, handle.workflowId);
      // Either the promotion already gave up on the bump, or it waits for the push to end: both are
      // states a person could see now. Only then does the push go through.
      await eventually('the cancel to reach the bump', async () => {
        const description = await handle.describe();
        if (description.status.name !== 'RUNNING') return true;
        const pending = description.raw.pendingActivities ?? [];
        return (
          pending.some(
            (a) =>
              a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED,
          ) || undefined
        );
      });
      await pushes.release();

      const final = await waitFinished(suite.temporal.client, handle.workflowId);
      // The cancel reaches the push through the activity's heartbeat: the push is killed if it is
      // still held then, and lands (to be reverted) if it was let through first.
      await eventually('the held push to finish', () =>
        Promise.resolve(pushes.done() || pushes.killed() || undefined),
      );
      expect(final.status).toBe('cancelled');
      expect(await repo.file('environments/dev.yaml')).toBe(original);
      expect(await subjects()).toEqual(
        pushes.done()
          ? [
              'revert(dev): restore api 1.4.0',
              'feat(dev): update api to 1.5.0',
              'chore: deployment repository for the shop services',
            ]
          : ['chore: deployment repository for the shop services'],
      );
      expect(final.environments[0]).toMatchObject({ status: pushes.done() ? 'reverted' : 'failed' });
    });
  });
});

describe('compensation that cannot finish', () => {
  it('keeps the environment closed and shows its attempts until the repository is back', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const { first, second } = await holderThenQueued(suite.temporal.client, taskQueue, request());

      const away = `${repo.url}.away`;
      await rename(repo.url, away);
      await decide(suite.temporal.client, first.workflowId, {
        env: 'staging',
        approved: false,
        by: 'carol',
        comment: 'not today',
      });
      // The attempts are retried inside the revert activity (no history per attempt): its heartbeat
      // details, shown with the pending activity in the Web UI and `temporal workflow describe`, count them.
      await eventually('the revert to show its failed attempts', async () => {
        const progress = await compensationProgress(first.workflowId);
        return (progress?.attempts ?? 0) >= 2 && progress?.error ? progress : undefined;
      });
      expect(await currentDetails(first.workflowId)).toMatch(/^reverting staging/);
      // Nobody else may deploy staging while its unapproved bump is still in the branch.
      expect((await getStatus(suite.temporal.client, second.workflowId)).environments[0]?.status).toBe(
        'queued',
      );

      await rename(away, repo.url);
      const rejected = await waitFinished(suite.temporal.client, first.workflowId);
      expect(rejected.status).toBe('rejected');
      expect(rejected.environments[0]?.revertCommit).toMatch(/^[0-9a-f]{40}$/);
      await waitForApproval(suite.temporal.client, second.workflowId, 'staging');
      await decide(suite.temporal.client, second.workflowId, { env: 'staging', approved: true, by: 'carol' });
      expect((await waitFinished(suite.temporal.client, second.workflowId)).status).toBe('succeeded');
      expect(await subjects()).toEqual([
        'feat(staging): update web to 2.1.0',
        'revert(staging): restore api 1.4.0',
        'feat(staging): update api to 1.5.0',
        'chore: deployment repository for the shop services',
      ]);
      await expectLiveAsCommitted(repo, 'staging', ['1.4.0']);
    });
  });
});

describe('runs, not ids', () => {
  it('re-runs a request whose earlier run was terminated while holding the environment', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const earlier = await startHolder(suite.temporal.client, taskQueue, request());
      await earlier.terminate('operator terminated it');

      const again = await startPromotion(suite.temporal.client, request(), { taskQueue });
      expect(again.workflowId).toBe(earlier.workflowId);
      expect(again.firstExecutionRunId).not.toBe(earlier.firstExecutionRunId);
      await waitForApproval(suite.temporal.client, again.workflowId, 'staging');
      await decide(suite.temporal.client, again.workflowId, { env: 'staging', approved: true, by: 'carol' });
      const final = await waitFinished(suite.temporal.client, again.workflowId);
      expect(final.status).toBe('succeeded');

      const commits = await repo.commits();
      expect(commits.map((c) => c.subject)).toEqual([
        'feat(staging): update api to 1.5.0',
        `revert(staging): undo the bump of ${earlier.workflowId}, which stopped while holding staging`,
        'feat(staging): update api to 1.5.0',
        'chore: deployment repository for the shop services',
      ]);
      // Each run's commits carry its own run, so the earlier run's revert never hides the later bump.
      expect(commits[2]?.body).toContain(`Promote-Run: ${earlier.firstExecutionRunId}`);
      expect(commits[0]?.body).toContain(`Promote-Run: ${again.firstExecutionRunId}`);
      expect(await repo.live('staging')).toContain('tag: "1.5.0"');
    });
  });
});

describe('a holder lost after it started applying', () => {
  it('is recorded as deployed, not reverted, and the next promotion reconciles the cluster', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'staging', ...AUTO }] });
    await writeFile(join(repo.cluster, 'slow-apply'), '30');
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const lost = await startPromotion(suite.temporal.client, request(), { taskQueue });
        await envStatus(suite.temporal.client, lost.workflowId, 'staging', 'applying');
        await eventually('the apply to start', async () =>
          (await repo.deployLog()).some((l) => l.includes(' start staging ')) ? true : undefined,
        );
        const next = await startPromotion(
          suite.temporal.client,
          request({ apps: [{ app: 'web', tag: '2.1.0' }] }),
          { taskQueue },
        );
        await envStatus(suite.temporal.client, next.workflowId, 'staging', 'queued');
        await writeFile(join(repo.cluster, 'slow-apply'), '0');
        await lost.terminate('operator terminated it mid-apply');

        expect((await waitFinished(suite.temporal.client, next.workflowId)).status).toBe('succeeded');
        expect(await subjects()).toEqual([
          'feat(staging): update web to 2.1.0',
          'feat(staging): update api to 1.5.0',
          'chore: deployment repository for the shop services',
        ]);
        await expectLiveAsCommitted(repo, 'staging', ['1.5.0', '2.1.0']);
      },
      { deployGraceMs: 1_000 },
    );
  });
});

describe('the environment lock cannot be lost', () => {
  it('is rebuilt from its holder after being terminated, and grants no second holder meanwhile', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const holder = await startHolder(suite.temporal.client, taskQueue, request());
      const lockId = environmentLockId(repositoryKey(repo.url), 'staging');
      await suite.temporal.client.workflow.getHandle(lockId).terminate('lost lock');

      const next = await startPromotion(
        suite.temporal.client,
        request({ apps: [{ app: 'web', tag: '2.1.0' }] }),
        { taskQueue },
      );
      const queued = await envStatus(suite.temporal.client, next.workflowId, 'staging', 'queued');
      expect(queued.environments[0]?.queuedBehind).toBe(holder.workflowId);

      await approveToSuccess(suite.temporal.client, holder.workflowId, 'staging', 'carol');
      await approveToSuccess(suite.temporal.client, next.workflowId, 'staging', 'carol');
      const applies = (await repo.deployLog()).filter((l) => / (start|done) staging /.test(l));
      expect(applies.map((l) => l.split(' ')[1])).toEqual(['start', 'done', 'start', 'done']);
    });
  });
});

describe('one repository, one lock', () => {
  it('queues promotions that spell the same repository differently behind each other', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const { first, second, queued } = await holderThenQueued(
        suite.temporal.client,
        taskQueue,
        request(),
        request({ repo: `file://${repo.url}/`, apps: [{ app: 'web', tag: '2.1.0' }] }),
      );
      expect(queued.environments[0]?.queuedBehind).toBe(first.workflowId);
      await cancelPromotion(suite.temporal.client, first.workflowId);
      await waitForApproval(suite.temporal.client, second.workflowId, 'staging');
    });
  });
});

describe('errors classified', () => {
  let daemon: ResultPromise | undefined;

  function serveOverGit(port: number): ResultPromise {
    return execa(
      'git',
      [
        'daemon',
        '--export-all',
        '--reuseaddr',
        '--enable=receive-pack',
        '--listen=127.0.0.1',
        `--port=${port}`,
        `--base-path=${repo.root}`,
        repo.root,
      ],
      // Its own process group without pipes: the daemon forks a child per connection, and all must go.
      { reject: false, stdio: 'ignore', detached: true },
    );
  }

  it('retries a repository that is unreachable for a while instead of failing the promotion', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', ...AUTO }] });
    const port = await freePort();
    try {
      await suite.temporal.withWorker(async ({ taskQueue }) => {
        const handle = await startPromotion(
          suite.temporal.client,
          request({ repo: `git://127.0.0.1:${port}/deployment.git` }),
          { taskQueue },
        );
        // Nothing listens yet: the first reads fail with "connection refused" and are retried.
        await eventually('a failed attempt to read the repository', async () => {
          const description = await handle.describe();
          const pending = description.raw.pendingActivities ?? [];
          return pending.some((a) => (a.attempt ?? 0) >= 2) || undefined;
        });
        daemon = serveOverGit(port);
        const final = await waitFinished(suite.temporal.client, handle.workflowId);
        expect(final.status).toBe('succeeded');
        expect(await repo.live('dev')).toContain('tag: "1.5.0"');
      });
    } finally {
      if (daemon?.pid) process.kill(-daemon.pid, 'SIGKILL');
      await daemon;
    }
  });
});
