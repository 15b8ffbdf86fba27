import { describe } from '@jest/globals';
import { eventually } from '../support/wait.js';
import { HELD_THROUGH_APPROVAL, useFaultServer, type FaultRun } from './world.js';

/**
 * The deployment remote unreachable for a while: the repository is served by `git daemon` over git://,
 * which is stopped (connections refused, as in a network outage) and started again. A short outage must be ridden out; a long one (beyond
 * the git retry budget of about 3 minutes) during compensation must not let the next holder deploy a
 * change that was never approved.
 */
const faults = useFaultServer('outage');

async function outage(run: FaultRun, until: () => Promise<unknown>): Promise<void> {
  await run.cutNetwork();
  try {
    await until();
  } finally {
    await run.restoreNetwork();
  }
}

const POINTS = ['start', 'bump', 'revert'] as const;

describe('the deployment remote unreachable for a while', () => {
  for (const point of POINTS)
    faults.test(`the remote unreachable for seconds from ${point}`, {}, async (run) => {
      await run.serveOverNetwork();
      await run.startWorker();
      const seconds = run.random.int(3, 15);
      run.note(`remote unreachable for ${seconds}s from ${point}`);
      const wait = () => run.sleep(seconds * 1_000);
      if (point === 'start') {
        await outage(run, async () => {
          await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, 'succeeded');
          await wait();
        });
      } else if (point === 'bump') {
        const id = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, 'succeeded');
        await run.reach(id, 'dev', ['queued', 'bumping', 'diffing', 'applying', 'succeeded']);
        await outage(run, wait);
      } else {
        // Rejected by the scenario: the outage must not keep it from ending rejected (reverted).
        const id = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, 'rejected');
        await run.reach(id, 'staging', ['waiting-approval']);
        await outage(run, async () => {
          await run.decide(id, false, 'outage test');
          await wait();
        });
      }
      await run.verify();
    });

  faults.test(
    'the remote unreachable longer than the git retry budget during a revert',
    {
      // The environment held through the approval wait (no proposal): the rejected bump is on the
      // deployment branch, and the revert that cannot finish must keep the waiter out.
      environments: HELD_THROUGH_APPROVAL,
    },
    async (run) => {
      await run.serveOverNetwork();
      await run.startWorker();
      // Its revert is retried until the remote is back: it ends rejected, not failed. Another
      // promotion waits for staging: it must not get a branch that still holds the rejected bump.
      const { holder: id } = await run.holderAndWaiter('rejected');
      const started = Date.now();
      await outage(run, async () => {
        await run.decide(id, false, 'outage test');
        // Until the revert gave up (today) or for 200s, past the ~3 minutes of git retries.
        await eventually(
          'the revert to give up or 200s to pass',
          async () => {
            const state = await run.status(id);
            const gaveUp = state.environments.some((e) => e.error?.includes('compensation failed'));
            return gaveUp || Date.now() - started > 200_000 ? true : undefined;
          },
          260_000,
          1_000,
        );
      });
      run.note(`remote unreachable for ${Math.round((Date.now() - started) / 1000)}s from the rejection`);
      await run.verify();
    },
  );
});
