import { describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decideSignal } from '../common/definitions.js';
import {
  cancelPromotion,
  decide,
  getStatus,
  startPromotion,
  waitAccepted,
  waitFinished,
  waitForApproval,
} from '../client/promotions.js';
import type { PromotionRequest } from '../common/types.js';
import { promoteCli } from './support/cli.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { envStatus, eventually } from './support/wait.js';
import { holderThenQueued, promotionRequest, startHolder } from './support/requests.js';
import { approveToSuccess, rejectToEnd } from './support/approve.js';
import { expectLiveAsCommitted } from './support/live.js';

const suite = useTemporal();
let repo: TestRepo;

const AUTO = { approval: 'auto' } as const;
// These tests are about the lock: a manual environment held through its approval (proposals: false)
// is the simplest holder. test/proposals.test.ts covers manual environments with proposals.
const MANUAL = { approval: 'manual', proposals: false } as const;
const THREE_AUTO = [
  { name: 'dev', ...AUTO },
  { name: 'staging', ...AUTO },
  { name: 'prod', ...AUTO },
];

const request = (overrides: Partial<PromotionRequest> = {}) => promotionRequest(repo, overrides);

/** Pairs of start/done lines per environment must never interleave. */
function applyWindows(log: string[]): Map<string, string[]> {
  const byEnv = new Map<string, string[]>();
  for (const line of log) {
    const [, event = '', env = ''] = line.split(' ');
    if (event === 'start' || event === 'done' || event === 'failed' || event === 'terminated') {
      byEnv.set(env, [...(byEnv.get(env) ?? []), event]);
    }
  }
  return byEnv;
}

describe('approvals', () => {
  it('accepts a decision sent as a signal and ignores an invalid one', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL, approvers: ['alice'] }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const handle = await startPromotion(suite.temporal.client, request(), { taskQueue });
      await waitForApproval(suite.temporal.client, handle.workflowId, 'staging');
      await handle.signal(decideSignal, { env: 'staging', approved: true, by: 'mallory' });
      await handle.signal(decideSignal, {
        env: 'staging',
        approved: true,
        by: 'alice',
        comment: 'via Slack',
      });
      const final = await waitFinished(suite.temporal.client, handle.workflowId);
      expect(final.status).toBe('succeeded');
      expect(final.environments[0]?.decision).toMatchObject({
        approved: true,
        by: 'alice',
        comment: 'via Slack',
      });
    });
  });

  it('refuses a rejection without a reason', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const handle = await startPromotion(suite.temporal.client, request(), { taskQueue });
      await waitForApproval(suite.temporal.client, handle.workflowId, 'staging');
      await expect(
        decide(suite.temporal.client, handle.workflowId, { env: 'staging', approved: false, by: 'bob' }),
      ).rejects.toThrow('a rejection needs a reason');
      await cancelPromotion(suite.temporal.client, handle.workflowId);
      expect((await waitFinished(suite.temporal.client, handle.workflowId)).status).toBe('cancelled');
    });
  });
});

describe('compensation', () => {
  it('reverts only the lines a rejected promotion changed, keeping commits made since', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    await suite.temporal.withWorker(async ({ taskQueue, announcements }) => {
      const handle = await startPromotion(suite.temporal.client, request(), { taskQueue });
      await waitForApproval(suite.temporal.client, handle.workflowId, 'staging');
      // Someone changes another line of the same file while the promotion waits.
      const values = await repo.file('environments/staging.yaml');
      await repo.commitFile(
        'environments/staging.yaml',
        values.replace('replicas: 1', 'replicas: 2'),
        'chore: scale api',
      );

      const final = await rejectToEnd(suite.temporal.client, handle.workflowId, 'staging', 'carol', 'freeze');

      expect(final.status).toBe('rejected');
      const staging = final.environments[0];
      expect(staging?.status).toBe('rejected');
      expect(staging?.rolledBack).toBeUndefined();
      const [revert] = await repo.commits();
      expect(staging?.revertCommit).toBe(revert?.hash);
      expect(revert?.subject).toBe('revert(staging): restore api 1.4.0');
      expect(revert?.body).toContain('rejected by carol: freeze');
      const after = await repo.file('environments/staging.yaml');
      expect(after).toContain('tag: "1.4.0"');
      expect(after).toContain('replicas: 2');
      expect(after).toBe(
        values.replace('replicas: 1', 'replicas: 2').replace('tag: "1.5.0"', 'tag: "1.4.0"'),
      );
      // Nothing was applied, so nothing was rolled back.
      expect(await repo.deployLog()).toEqual([]);
      expect(announcements.map((a) => a.outcome)).toEqual(['rejected']);
    });
  });

  it('cancels a running apply with SIGTERM, then reverts and rolls back', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', ...AUTO }] });
    await writeFile(join(repo.cluster, 'slow-apply'), '30');
    const original = await repo.file('environments/dev.yaml');
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const handle = await startPromotion(suite.temporal.client, request(), { taskQueue });
      await envStatus(suite.temporal.client, handle.workflowId, 'dev', 'applying');
      await eventually('apply to start', async () =>
        (await repo.deployLog()).length > 0 ? true : undefined,
      );

      const cancelled = await promoteCli(['cancel', handle.workflowId], {
        address: suite.temporal.address,
        taskQueue,
      });
      expect(cancelled).toMatchObject({ code: 0, stdout: `cancellation requested for ${handle.workflowId}` });
      const final = await waitFinished(suite.temporal.client, handle.workflowId);

      expect(final.status).toBe('cancelled');
      expect(final.environments[0]).toMatchObject({
        status: 'reverted',
        error: 'cancelled',
        rolledBack: true,
      });
      // The deploy command saw SIGTERM (its trap logged it) before the rollback ran.
      expect((await repo.deployLog()).map((l) => l.split(' ')[1])).toEqual([
        'start',
        'terminated',
        'rollback',
      ]);
      expect(await repo.file('environments/dev.yaml')).toBe(original);
      expect(await repo.live('dev')).toBe(original);
    });
  });
});

describe('one deployment per environment', () => {
  it('queues a second promotion behind the holder and runs it after', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const { first, second, queued } = await holderThenQueued(suite.temporal.client, taskQueue, request());
      expect(queued.environments[0]?.queuedBehind).toBe(first.workflowId);
      // The queued promotion has not committed anything yet.
      expect((await repo.commits()).map((c) => c.subject)).toEqual([
        'feat(staging): update api to 1.5.0',
        'chore: deployment repository for the shop services',
      ]);

      await decide(suite.temporal.client, first.workflowId, { env: 'staging', approved: true, by: 'carol' });
      await waitForApproval(suite.temporal.client, second.workflowId, 'staging');
      await decide(suite.temporal.client, second.workflowId, { env: 'staging', approved: true, by: 'carol' });
      expect((await waitFinished(suite.temporal.client, first.workflowId)).status).toBe('succeeded');
      expect((await waitFinished(suite.temporal.client, second.workflowId)).status).toBe('succeeded');
      expect(applyWindows(await repo.deployLog()).get('staging')).toEqual(['start', 'done', 'start', 'done']);
      const live = await repo.live('staging');
      expect(live).toContain('tag: "1.5.0"');
      expect(live).toContain('tag: "2.1.0"');
    });
  });

  it('supersedes an older promotion of the same app that waits for approval', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    await suite.temporal.withWorker(async ({ taskQueue, announcements }) => {
      const older = await startHolder(suite.temporal.client, taskQueue, request());
      const newer = await startPromotion(
        suite.temporal.client,
        request({ apps: [{ app: 'api', tag: '1.6.0' }] }),
        { taskQueue },
      );

      const olderFinal = await waitFinished(suite.temporal.client, older.workflowId);
      expect(olderFinal.status).toBe('cancelled');
      expect(olderFinal.environments[0]).toMatchObject({
        status: 'superseded',
        supersededBy: newer.workflowId,
      });
      expect(olderFinal.environments[0]?.revertCommit).toMatch(/^[0-9a-f]{40}$/);

      await approveToSuccess(suite.temporal.client, newer.workflowId, 'staging', 'carol');
      expect((await repo.commits()).map((c) => c.subject).slice(0, 3)).toEqual([
        'feat(staging): update api to 1.6.0',
        'revert(staging): restore api 1.4.0',
        'feat(staging): update api to 1.5.0',
      ]);
      expect(await repo.live('staging')).toContain('tag: "1.6.0"');
      expect(applyWindows(await repo.deployLog()).get('staging')).toEqual(['start', 'done']);
      expect(announcements.map((a) => `${a.outcome}:${a.apps[0]?.tag}`)).toEqual([
        'superseded:1.5.0',
        'deployed:1.6.0',
      ]);
    });
  });

  it('never deadlocks on a holder that was terminated, and its bump does not ride along', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const { first: stuck, second: next } = await holderThenQueued(
        suite.temporal.client,
        taskQueue,
        request(),
      );
      await stuck.terminate('operator terminated it');
      // The lock's liveness check (1s lease in tests) notices, reverts the unapproved bump and hands
      // the environment on.
      await approveToSuccess(suite.temporal.client, next.workflowId, 'staging', 'carol');

      expect((await repo.commits()).map((c) => c.subject)).toEqual([
        'feat(staging): update web to 2.1.0',
        `revert(staging): undo the bump of ${stuck.workflowId}, which stopped while holding staging`,
        'feat(staging): update api to 1.5.0',
        'chore: deployment repository for the shop services',
      ]);
      await expectLiveAsCommitted(repo, 'staging', ['1.4.0', '2.1.0']);
    });
  });
});

describe('skip and target', () => {
  it('skips environments already at the tags unless forced', async () => {
    repo = await TestRepo.create({
      environments: [{ name: 'dev', ...AUTO }],
      apps: { api: '1.5.0', web: '2.0.3' },
    });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const skipped = await waitFinished(
        suite.temporal.client,
        (await startPromotion(suite.temporal.client, request(), { taskQueue })).workflowId,
      );
      expect(skipped.environments[0]?.status).toBe('skipped');
      expect(await repo.deployLog()).toEqual([]);

      const forced = await waitFinished(
        suite.temporal.client,
        (await startPromotion(suite.temporal.client, request({ force: true }), { taskQueue })).workflowId,
      );
      expect(forced.environments[0]?.status).toBe('succeeded');
      expect(applyWindows(await repo.deployLog()).get('dev')).toEqual(['start', 'done']);
      expect(await repo.commits()).toHaveLength(1);
    });
  });

  it('stops after --to', async () => {
    repo = await TestRepo.create({ environments: THREE_AUTO });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const final = await waitFinished(
        suite.temporal.client,
        (await startPromotion(suite.temporal.client, request({ to: 'staging' }), { taskQueue })).workflowId,
      );
      expect(final.environments.map((e) => `${e.name}:${e.status}`)).toEqual([
        'dev:succeeded',
        'staging:succeeded',
      ]);
      expect(await repo.file('environments/prod.yaml')).toContain('tag: "1.4.0"');
    });
  });

  it('deploys --only an environment whose required environment already runs the tags', async () => {
    repo = await TestRepo.create({ environments: THREE_AUTO });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const cli = (args: string[]) => promoteCli(args, { address: suite.temporal.address, taskQueue });
      const refused = await cli(['start', '--repo', repo.url, '--app', 'api=1.5.0', '--only', 'staging']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(
        'staging requires dev, which has api=1.4.0, not 1.5.0: promote to dev first',
      );

      const toDev = await cli(['start', '--repo', repo.url, '--app', 'api=1.5.0', '--to', 'dev', '--wait']);
      expect(toDev.code).toBe(0);
      const only = await cli([
        'start',
        '--repo',
        repo.url,
        '--app',
        'api=1.5.0',
        '--only',
        'staging',
        '--wait',
        '--json',
      ]);
      expect(only.code).toBe(0);
      const state = JSON.parse(only.stdout) as { environments: { name: string; status: string }[] };
      expect(state.environments.map((e) => `${e.name}:${e.status}`)).toEqual(['staging:succeeded']);
      // prod's policy requires staging, where the tag now runs; dev was not touched again.
      expect(applyWindows(await repo.deployLog()).get('dev')).toEqual(['start', 'done']);
    });
  });

  it('refuses --only while the required environment has the tags committed but not yet live', async () => {
    repo = await TestRepo.create({
      environments: [
        { name: 'dev', ...MANUAL },
        { name: 'staging', ...AUTO },
      ],
    });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const pending = await startPromotion(suite.temporal.client, request({ to: 'dev' }), { taskQueue });
      await waitForApproval(suite.temporal.client, pending.workflowId, 'dev');
      // dev's values file already says 1.5.0, but the promotion that wrote it has not applied it.
      const refused = await promoteCli(
        ['start', '--repo', repo.url, '--app', 'api=1.5.0', '--only', 'staging'],
        {
          address: suite.temporal.address,
          taskQueue,
        },
      );
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(
        `staging requires dev, where api=1.5.0 was committed by ${pending.workflowId} but is waiting-approval, not live`,
      );
      await cancelPromotion(suite.temporal.client, pending.workflowId);
      await waitFinished(suite.temporal.client, pending.workflowId);
    });
  });
});

describe('rollback and list', () => {
  it('rolls an environment back to its previous tag, found in the repository history', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'prod', ...MANUAL, approvers: ['alice'] }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const cli = (args: string[]) => promoteCli(args, { address: suite.temporal.address, taskQueue });
      const first = await startPromotion(suite.temporal.client, request(), { taskQueue });
      await waitForApproval(suite.temporal.client, first.workflowId, 'prod');
      await decide(suite.temporal.client, first.workflowId, { env: 'prod', approved: true, by: 'alice' });
      await waitFinished(suite.temporal.client, first.workflowId);

      const started = await cli(['rollback', '--repo', repo.url, '--env', 'prod', '--app', 'api', '--json']);
      expect(started.code).toBe(0);
      const { id } = JSON.parse(started.stdout) as { id: string };
      const waiting = await waitForApproval(suite.temporal.client, id, 'prod');
      expect(waiting).toMatchObject({ kind: 'rollback', apps: [{ app: 'api', tag: '1.4.0' }] });
      await decide(suite.temporal.client, id, { env: 'prod', approved: true, by: 'alice' });
      const final = await waitFinished(suite.temporal.client, id);
      expect(final.environments[0]).toMatchObject({
        status: 'succeeded',
        tag: '1.4.0',
        previousTag: '1.5.0',
      });
      expect((await repo.commits())[0]?.subject).toBe('fix(prod): roll back api to 1.4.0');
      expect(await repo.live('prod')).toContain('tag: "1.4.0"');

      // Visibility is eventually consistent: poll until both runs show as closed, then compare.
      // Other tests share this server, so look for this test's two promotions among the rows.
      type Row = { id: string; state: string; env: string; apps: string[] };
      const mine = await eventually('both promotions to be listed as succeeded', async () => {
        const listed = await cli(['list', '--app', 'api', '--json']);
        if (listed.code !== 0) throw new Error(listed.stderr);
        const rows = (JSON.parse(listed.stdout) as Row[]).filter(
          (r) => r.id === first.workflowId || r.id === id,
        );
        return rows.length === 2 && rows.every((r) => r.state === 'succeeded') ? rows : undefined;
      });
      expect(mine.map((r) => [r.id, r.state, r.env])).toEqual([
        [id, 'succeeded', 'prod'],
        [first.workflowId, 'succeeded', 'prod'],
      ]);
      expect(mine[0]?.apps).toEqual(['api=1.4.0']);
      const none = await eventually('no running web promotion to be listed', async () => {
        const listed = await cli(['list', '--app', 'web', '--state', 'running']);
        return listed.stdout === 'no promotions match' ? listed : undefined;
      });
      expect(none.stdout).toBe('no promotions match');
      expect((await cli(['list', '--app', "x' OR 1=1"])).code).toBe(2);
    });
  });

  it('refuses a rollback when the history has no earlier tag', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'prod', ...AUTO }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const result = await promoteCli(['rollback', '--repo', repo.url, '--env', 'prod', '--app', 'api'], {
        address: suite.temporal.address,
        taskQueue,
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("no earlier tag of api in prod's history");
    });
  });
});

describe('status while running', () => {
  it('reads back through the CLI with the current step', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const handle = await startPromotion(suite.temporal.client, request(), { taskQueue });
      await waitAccepted(suite.temporal.client, handle.workflowId);
      await waitForApproval(suite.temporal.client, handle.workflowId, 'staging');
      const description = await handle.describe();
      expect(await description.staticSummary()).toBe('api=1.5.0 → all environments');
      // What the Web UI shows as the workflow's current details.
      const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      expect(metadata.currentDetails).toBe('waiting for approval in staging: anyone');
      expect((await getStatus(suite.temporal.client, handle.workflowId)).status).toBe('waiting-approval');
      await cancelPromotion(suite.temporal.client, handle.workflowId);
      const final = await waitFinished(suite.temporal.client, handle.workflowId);
      expect(final.environments[0]).toMatchObject({ status: 'reverted', error: 'cancelled' });
    });
  });
});
