import { describe, expect, it } from '@jest/globals';
import { chmod, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decide, startPromotion, waitFinished, waitForApproval } from '../client/promotions.js';
import { environmentLockId, repositoryKey } from '../common/ids.js';
import { lockStateQuery } from '../common/definitions.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { envStatus, eventually } from './support/wait.js';

/**
 * A lock workflow terminated while its holder compensates (a rejected bump whose revert is still being
 * pushed) is rebuilt with that holder: the next promotion must not bump on top of a change that was
 * just rejected and is not reverted yet.
 */
const suite = useTemporal();

/** A pre-receive hook that holds every push open until the test lets it through. */
async function holdPushes(repo: TestRepo): Promise<{ started: () => boolean; release: () => Promise<void> }> {
  const marker = (name: string) => join(repo.root, name);
  const hook = join(repo.url, 'hooks', 'pre-receive');
  await writeFile(
    hook,
    `#!/bin/sh\ntouch '${marker('push-started')}'\nwhile [ ! -f '${marker('push-release')}' ]; do sleep 0.05; done\n`,
  );
  await chmod(hook, 0o755);
  return {
    started: () => existsSync(marker('push-started')),
    release: () => writeFile(marker('push-release'), ''),
  };
}

describe('a lock terminated while its holder compensates', () => {
  it('is rebuilt with that holder, so the next one waits for the revert', async () => {
    const repo = await TestRepo.create({
      environments: [{ name: 'staging', approval: 'manual', proposals: false }],
    });
    const client = suite.temporal.client;
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const start = (app: string, tag: string) =>
        startPromotion(client, { repo: repo.url, apps: [{ app, tag }] }, { taskQueue });
      const rejected = await start('api', '1.5.0');
      await waitForApproval(client, rejected.workflowId, 'staging');
      const next = await start('web', '2.1.0');
      await envStatus(client, next.workflowId, 'staging', 'queued');

      // The rejection's revert is pushed, but the push hangs: the holder is compensating.
      const hold = await holdPushes(repo);
      try {
        await decide(client, rejected.workflowId, {
          env: 'staging',
          approved: false,
          by: 'carol',
          comment: 'not this one',
        });
        await eventually('the revert push to start', () =>
          Promise.resolve(hold.started() ? true : undefined),
        );
        const lockId = environmentLockId(repositoryKey(repo.url), 'staging');
        const lost = await client.workflow.getHandle(lockId).describe();
        await client.workflow.getHandle(lockId).terminate('lost lock');

        // The waiter asks again and so starts a new lock, which must find the compensating holder.
        const rebuilt = await eventually('a new lock with a holder', async () => {
          const current = await client.workflow.getHandle(lockId).describe();
          if (current.runId === lost.runId || current.status.name !== 'RUNNING') return undefined;
          const state = await client.workflow.getHandle(lockId, current.runId).query(lockStateQuery);
          // The holder's re-assert and the waiter's may reach the new lock in either order.
          return state.holder && state.queue.length > 0 ? state : undefined;
        });
        expect(rebuilt.holder?.holder).toBe(rejected.workflowId);
        expect(rebuilt.queue.map((q) => q.holder)).toEqual([next.workflowId]);
      } finally {
        await hold.release();
      }

      expect((await waitFinished(client, rejected.workflowId)).status).toBe('rejected');
      await waitForApproval(client, next.workflowId, 'staging');
      await decide(client, next.workflowId, { env: 'staging', approved: true, by: 'carol' });
      expect((await waitFinished(client, next.workflowId)).status).toBe('succeeded');
      // The next bump came after the revert, and what the cluster runs never held the rejected tag.
      const [last, revert, bump] = (await repo.commits()).map((c) => c.subject);
      expect([last, bump]).toEqual([
        'feat(staging): update web to 2.1.0',
        'feat(staging): update api to 1.5.0',
      ]);
      expect(revert).toMatch(/^revert\(staging\): restore api /);
      expect(await repo.live('staging')).not.toContain('tag: "1.5.0"');
    });
  });
});

describe('a lock terminated while nobody waits', () => {
  it('is rebuilt by its holder re-asserting, with where its apply stands', async () => {
    const repo = await TestRepo.create({
      environments: [{ name: 'staging', approval: 'manual', proposals: false }],
    });
    const client = suite.temporal.client;
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const holder = await startPromotion(
        client,
        { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }] },
        { taskQueue },
      );
      await waitForApproval(client, holder.workflowId, 'staging');
      const lockId = environmentLockId(repositoryKey(repo.url), 'staging');
      const lost = await client.workflow.getHandle(lockId).describe();
      await client.workflow.getHandle(lockId).terminate('lost lock');

      // Nobody else asks: only the holder itself can bring the lock back.
      const rebuilt = await eventually('the holder to rebuild the lock', async () => {
        const current = await client.workflow.getHandle(lockId).describe();
        if (current.runId === lost.runId || current.status.name !== 'RUNNING') return undefined;
        const state = await client.workflow.getHandle(lockId, current.runId).query(lockStateQuery);
        return state.holder ? state : undefined;
      });
      expect(rebuilt.holder).toMatchObject({ holder: holder.workflowId, run: holder.firstExecutionRunId });
      expect(rebuilt.holder?.applied).toBeFalsy();

      await decide(client, holder.workflowId, { env: 'staging', approved: true, by: 'carol' });
      expect((await waitFinished(client, holder.workflowId)).status).toBe('succeeded');
      // Released: the rebuilt lock is free for the next one.
      const next = await startPromotion(
        client,
        { repo: repo.url, apps: [{ app: 'web', tag: '2.1.0' }] },
        { taskQueue },
      );
      await waitForApproval(client, next.workflowId, 'staging');
    });
  });
});
