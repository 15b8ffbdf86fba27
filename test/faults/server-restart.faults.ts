import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { getStatus } from '../../client/promotions.js';
import { eventually } from '../support/wait.js';
import { announceSeed, nextSeed } from './seed.js';
import { FaultRun, FaultServer, HELD_THROUGH_APPROVAL } from './world.js';

/**
 * The dev server stopped and started again on the same database file while promotions run, at a
 * seeded point; workers and clients reconnect to the same address. Its own file: a restart would hit
 * every other run sharing the server.
 */
const shared = FaultServer.shared();
beforeAll(() => {
  announceSeed('server-restart');
});
afterAll(async () => {
  await shared.stop();
});

const POINTS = ['bump', 'apply', 'waiting-approval', 'lock queue'] as const;

describe('restart the server mid-promotion', () => {
  it.each([nextSeed()])('restart the dev server mid-promotion [seed %d]', async (seed) => {
    const server = await shared.server();
    const run = await FaultRun.create(server, {
      scenario: 'restart the dev server mid-promotion',
      seed,
      environments: HELD_THROUGH_APPROVAL,
    });
    try {
      await run.startWorker();
      const point = run.random.pick(POINTS);
      if (point === 'apply') await run.setFile('delay-apply', '3');
      // Two promotions compete for staging: slow applies so an overlap would show.
      if (point === 'lock queue') await run.setFile('delay-apply', '1');
      const first = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, 'succeeded');
      if (point === 'bump') await run.reach(first, 'dev', ['bumping', 'diffing', 'applying', 'succeeded']);
      if (point === 'apply') await run.logged(/ apply-start dev /);
      if (point === 'waiting-approval' || point === 'lock queue')
        await run.reach(first, 'staging', ['waiting-approval']);
      if (point === 'lock queue') {
        const second = await run.start({ apps: [{ app: 'web', tag: '2.1.0' }] }, 'succeeded');
        await run.reach(second, 'staging', ['queued']);
      }
      await run.sleep(run.random.int(0, 1_000));
      run.note(`server restarted at ${point}`);
      await server.restart();
      await eventually(
        'the promotion to be readable again',
        async () => (await getStatus(run.client, first)).status,
      );
      await run.verify();
    } finally {
      await run.dispose();
    }
  });
});
