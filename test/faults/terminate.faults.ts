import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { decide } from '../../client/promotions.js';
import { environmentLockId, repositoryKey } from '../../common/ids.js';
import { announceSeed, nextSeed } from './seed.js';
import { FaultRun, FaultServer, HELD_THROUGH_APPROVAL } from './world.js';

/**
 * Operators terminate workflows from the Web UI or `temporal workflow terminate`: no cancellation, no
 * compensation. A terminated promotion must not leave its change behind; a terminated environment lock
 * must not leave the environment stuck or granted twice.
 */
// Concurrent runs may start before beforeAll has finished: they all await this one start.
const shared = FaultServer.shared();
beforeAll(() => {
  announceSeed('terminate');
});
afterAll(async () => {
  await shared.stop();
});

/**
 * `waiting-approval` holds staging through the approval wait (its bump on the branch, which the lock
 * reverts). `waiting-approval on a proposal` leaves its proposal branch behind, which only the janitor
 * (workflows/janitor.ts, on a schedule every worker keeps) deletes: the no-leftovers invariant waits
 * for it.
 */
const POINTS = ['bump', 'waiting-approval', 'apply', 'waiting-approval on a proposal'] as const;

describe('terminate a promotion', () => {
  it.concurrent.each(POINTS.map((point) => [point, nextSeed()] as const))(
    'terminate a promotion during %s [seed %d]',
    async (point, seed) => {
      const server = await shared.server();
      const run = await FaultRun.create(server, {
        scenario: `terminate a promotion during ${point}`,
        seed,
        ...(point === 'waiting-approval' ? { environments: HELD_THROUGH_APPROVAL } : {}),
      });
      try {
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
        await run.client.workflow.getHandle(doomed).terminate(`fault suite, seed ${seed}`);
        await run.verify();
      } finally {
        await run.dispose();
      }
    },
  );
});

describe('terminate a lock', () => {
  it.each([nextSeed()])(
    'terminate the environment lock while it has a holder and a waiter [seed %d]',
    async (seed) => {
      const server = await shared.server();
      const run = await FaultRun.create(server, {
        scenario: 'terminate the environment lock',
        seed,
        environments: HELD_THROUGH_APPROVAL,
      });
      try {
        await run.startWorker();
        // Two promotions compete for staging: slow applies so an overlap would show.
        await run.setFile('delay-apply', '1');
        const approve = run.random.chance(0.7);
        const holder = await run.start(
          { apps: [{ app: 'api', tag: '1.5.0' }] },
          approve ? 'succeeded' : 'rejected',
        );
        await run.reach(holder, 'staging', ['waiting-approval']);
        const waiter = await run.start({ apps: [{ app: 'web', tag: '2.1.0' }] }, 'succeeded');
        await run.reach(waiter, 'staging', ['queued']);
        await run.sleep(run.random.int(0, 1_500));
        // The lock is keyed by the repository however spelled (runs before that: by the URL as given).
        let terminated = false;
        for (const repo of [repositoryKey(run.remoteUrl), run.remoteUrl]) {
          await run.client.workflow
            .getHandle(environmentLockId(repo, 'staging'))
            .terminate(`fault suite, seed ${seed}`)
            .then(() => (terminated = true))
            .catch(() => undefined);
        }
        if (!terminated) throw new Error('found no environment lock of staging to terminate');
        run.note('terminated env lock of staging with a holder waiting for approval and one waiter');
        await decide(run.client, holder, {
          env: 'staging',
          approved: approve,
          by: 'alice',
          comment: 'seeded',
        });
        await run.verify({ settleTimeoutMs: 60_000, nextTimeoutMs: 60_000 });
      } finally {
        await run.dispose();
      }
    },
  );
});
