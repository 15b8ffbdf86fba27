import { describe } from '@jest/globals';
import { HELD_THROUGH_APPROVAL, useFaultServer } from './world.js';

/**
 * Operators terminate workflows from the Web UI or `temporal workflow terminate`: no cancellation, no
 * compensation. A terminated promotion must not leave its change behind; a terminated environment lock
 * must not leave the environment stuck or granted twice.
 */
const faults = useFaultServer('terminate');

/**
 * `waiting-approval` holds staging through the approval wait (its bump on the branch, which the lock
 * reverts). `waiting-approval on a proposal` leaves its proposal branch behind, which only the janitor
 * (workflows/janitor.ts, on a schedule every worker keeps) deletes: the no-leftovers invariant waits
 * for it.
 */
const POINTS = ['bump', 'waiting-approval', 'apply', 'waiting-approval on a proposal'] as const;

describe('terminate a promotion', () => {
  for (const point of POINTS)
    faults.test(
      `terminate a promotion during ${point}`,
      point === 'waiting-approval' ? { environments: HELD_THROUGH_APPROVAL } : {},
      async (run) => {
        await run.startWorker();
        if (point === 'apply') await run.setFile('delay-apply', '3');
        const doomed = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, 'terminated');
        if (point === 'bump') {
          await run.reach(doomed, 'dev', ['bumping', 'diffing', 'applying', 'succeeded']);
          await run.sleep(run.random.int(0, 300));
        } else if (point === 'waiting-approval' || point === 'waiting-approval on a proposal') {
          await run.reach(doomed, 'staging', ['waiting-approval']);
          await run.sleep(run.random.int(0, 1_000));
        } else {
          await run.logged(/ apply-start dev /);
          await run.sleep(run.random.int(0, 2_500));
        }
        const at = await run.status(doomed);
        run.note(`terminated at ${at.environments.map((e) => `${e.name}:${e.status}`).join(',')}`);
        run.terminated.add(doomed);
        await run.client.workflow.getHandle(doomed).terminate(`fault suite, seed ${run.options.seed}`);
        await run.verify();
      },
    );
});

describe('terminate a lock', () => {
  faults.test(
    'terminate the environment lock while it has a holder and a waiter',
    { environments: HELD_THROUGH_APPROVAL },
    async (run) => {
      await run.startWorker();
      // Two promotions compete for staging: slow applies so an overlap would show.
      await run.setFile('delay-apply', '1');
      const approve = run.random.chance(0.7);
      const { holder } = await run.holderAndWaiter(approve ? 'succeeded' : 'rejected');
      await run.sleep(run.random.int(0, 1_500));
      await run.terminateLock('staging', `fault suite, seed ${run.options.seed}`);
      run.note('terminated env lock of staging with a holder waiting for approval and one waiter');
      await run.decide(holder, approve, 'seeded');
      await run.verify({ settleTimeoutMs: 60_000, nextTimeoutMs: 60_000 });
    },
    'alone',
  );
});
