import { describe } from '@jest/globals';
import { getStatus } from '../../client/promotions.js';
import { eventually } from '../support/wait.js';
import { HELD_THROUGH_APPROVAL, useFaultServer } from './world.js';

/**
 * The dev server stopped and started again on the same database file while promotions run, at a
 * seeded point; workers and clients reconnect to the same address. Its own file: a restart would hit
 * every other run sharing the server.
 */
const faults = useFaultServer('server-restart');

const POINTS = ['bump', 'apply', 'waiting-approval', 'lock queue'] as const;

describe('restart the server mid-promotion', () => {
  faults.test(
    'restart the dev server mid-promotion',
    { environments: HELD_THROUGH_APPROVAL },
    async (run) => {
      await run.startWorker();
      const point = run.random.pick(POINTS);
      if (point === 'apply') await run.setFile('delay-apply', '3');
      // Two promotions compete for staging: slow applies so an overlap would show.
      if (point === 'lock queue') await run.setFile('delay-apply', '1');
      const first =
        point === 'lock queue'
          ? (await run.holderAndWaiter('succeeded')).holder
          : await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, 'succeeded');
      if (point === 'bump') await run.reach(first, 'dev', ['bumping', 'diffing', 'applying', 'succeeded']);
      if (point === 'apply') await run.logged(/ apply-start dev /);
      if (point === 'waiting-approval') await run.reach(first, 'staging', ['waiting-approval']);
      await run.sleep(run.random.int(0, 1_000));
      run.note(`server restarted at ${point}`);
      await run.server.restart();
      await eventually(
        'the promotion to be readable again',
        async () => (await getStatus(run.client, first)).status,
      );
      await run.verify();
    },
    'alone',
  );
});
