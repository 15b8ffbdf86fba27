import { describe, expect, it } from '@jest/globals';
import { getStatus, startPromotion, waitForApproval } from '../client/promotions.js';
import { environmentLockId, repositoryKey } from '../common/ids.js';
import { TestRepo } from './support/repo.js';
import { useTimeSkipping } from './support/time-skipping.js';
import { eventually } from './support/wait.js';

/**
 * No workflow may approach Temporal's history limits (51,200 events; a warning from 10,240), however
 * long a person takes to decide: a 72-hour approval wait, held (proposals: false) with a second
 * promotion queued behind it, is skipped over by the time-skipping test server and the histories of
 * the holder, the waiter and the environment's lock are counted.
 */
const time = useTimeSkipping();

/** Far below the limits, and far below the ~9,500 events a 5-minute re-assert made of 72 hours. */
const PROMOTION_BOUND = 2_000;
/** The lock continues as new at 2,000 events; a wait must not overshoot that by much. */
const LOCK_BOUND = 2_500;

async function historyLength(workflowId: string): Promise<number> {
  return Number((await time.env.client.workflow.getHandle(workflowId).describe()).historyLength);
}

async function queuedOn(id: string): Promise<void> {
  await eventually(`${id} to queue`, async () =>
    (await getStatus(time.env.client, id)).environments[0]?.status === 'queued' ? true : undefined,
  );
}

describe('a 72-hour approval wait', () => {
  it('keeps the holder, a waiter and the lock far from the history limits', async () => {
    const manual = () => ({
      environments: [{ name: 'staging', approval: 'manual' as const, proposals: false }],
    });
    // Alone: the holder re-asserts into a lock that has nothing else to do (no timers of its own).
    const alone = await TestRepo.create(manual());
    // Contended: a second promotion queues behind the holder and re-asserts too.
    const contended = await TestRepo.create(manual());
    const taskQueue = 'history-bound';
    try {
      await time.withWorker(
        taskQueue,
        async () => {
          const start = (repo: TestRepo, app: string, tag: string) =>
            startPromotion(time.env.client, { repo: repo.url, apps: [{ app, tag }] }, { taskQueue });
          const holder = await start(alone, 'api', '1.5.0');
          const busy = await start(contended, 'api', '1.5.0');
          await waitForApproval(time.env.client, holder.workflowId, 'staging');
          await waitForApproval(time.env.client, busy.workflowId, 'staging');
          const waiter = await start(contended, 'web', '2.1.0');
          await queuedOn(waiter.workflowId);

          // 71 of the 72 hours skipped: everyone still waits, and the lock is in the run that waited.
          await time.env.sleep(71 * 3_600_000);
          const lengths = {
            holder: await historyLength(holder.workflowId),
            busy: await historyLength(busy.workflowId),
            waiter: await historyLength(waiter.workflowId),
            lock: await historyLength(environmentLockId(repositoryKey(alone.url), 'staging')),
            busyLock: await historyLength(environmentLockId(repositoryKey(contended.url), 'staging')),
          };
          process.stderr.write(`history lengths after a 71-hour wait: ${JSON.stringify(lengths)}\n`);
          expect((await getStatus(time.env.client, holder.workflowId)).status).toBe('waiting-approval');
          expect(lengths.holder).toBeLessThan(PROMOTION_BOUND);
          expect(lengths.busy).toBeLessThan(PROMOTION_BOUND);
          expect(lengths.waiter).toBeLessThan(PROMOTION_BOUND);
          expect(lengths.lock).toBeLessThan(LOCK_BOUND);
          expect(lengths.busyLock).toBeLessThan(LOCK_BOUND);

          // And the wait ends as it should: the approval times out after 72 hours.
          await Promise.all([
            expect(holder.result()).rejects.toThrow(),
            expect(busy.result()).rejects.toThrow(),
          ]);
          for (const id of [holder.workflowId, busy.workflowId])
            expect((await getStatus(time.env.client, id)).error).toBe('staging: approval timed out');
          await waiter.terminate('test finished').catch(() => undefined);
        },
        {
          // The worker's default for what this test is about: re-asserts every 5 minutes.
          lockReassertMs: 5 * 60_000,
          // The lock's liveness check (while someone queues) goes through its loop, which continues as
          // new: bounded either way. Checked rarely here only so that skipping 72 hours takes less real
          // time (each timer that fires is real work for the worker and the test server).
          lockLeaseMs: 6 * 3_600_000,
        },
      );
    } finally {
      await alone.remove();
      await contended.remove();
    }
  }, 1_200_000);
});
