import { describe, expect, it } from '@jest/globals';
import { chmod, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decide, waitFinished, waitForApproval } from '../client/promotions.js';
import { lockIdOf, terminateLockUntilHolderRebuildsIt, terminateLockUntilRebuilt } from './support/locks.js';
import { TestRepo } from './support/repo.js';
import { STAGING_HELD } from './support/environments.js';
import { useTemporal } from './support/suite.js';
import { envStatus, eventually } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';
import { approveToSuccess } from './support/approve.js';

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
    const repo = await TestRepo.create({ environments: [STAGING_HELD] });
    const client = suite.temporal.client;
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const start = (app: string, tag: string) => startTagPromotion(client, taskQueue, repo, { app, tag });
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
        // The waiter asks again and so starts a new lock, which must find the compensating holder.
        const { state: rebuilt } = await terminateLockUntilRebuilt(
          client,
          lockIdOf(repo, 'staging'),
          'lost lock',
          'a new lock with a holder',
          // The holder's re-assert and the waiter's may reach the new lock in either order.
          (state) => !!state.holder && state.queue.length > 0,
        );
        expect(rebuilt.holder?.holder).toBe(rejected.workflowId);
        expect(rebuilt.queue.map((q) => q.holder)).toEqual([next.workflowId]);
      } finally {
        await hold.release();
      }

      expect((await waitFinished(client, rejected.workflowId)).status).toBe('rejected');
      await approveToSuccess(client, next.workflowId, 'staging', 'carol');
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
    const repo = await TestRepo.create({ environments: [STAGING_HELD] });
    const client = suite.temporal.client;
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const holder = await startTagPromotion(client, taskQueue, repo);
      await waitForApproval(client, holder.workflowId, 'staging');
      // Nobody else asks: only the holder itself can bring the lock back.
      const lockId = lockIdOf(repo, 'staging');
      const { state: rebuilt } = await terminateLockUntilHolderRebuildsIt(client, lockId, 'lost lock');
      expect(rebuilt.holder).toMatchObject({ holder: holder.workflowId, run: holder.firstExecutionRunId });
      expect(rebuilt.holder?.applied).toBeFalsy();

      await decide(client, holder.workflowId, { env: 'staging', approved: true, by: 'carol' });
      expect((await waitFinished(client, holder.workflowId)).status).toBe('succeeded');
      // Released: the rebuilt lock is free for the next one.
      const next = await startTagPromotion(client, taskQueue, repo, { app: 'web', tag: '2.1.0' });
      await waitForApproval(client, next.workflowId, 'staging');
    });
  });
});
