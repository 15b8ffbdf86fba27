import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { decide } from '../../client/promotions.js';
import { announceSeed, nextSeed } from './seed.js';
import { FaultRun, FaultServer, HELD_THROUGH_APPROVAL } from './world.js';

/**
 * `promote worker` SIGKILLed — with every deploy command it started, as when its machine dies — at a
 * seeded random point of one step, then a new worker takes over. Twenty runs, the steps in turn.
 */
const PHASES = {
  /** Mid-push of the bump commit. */
  bump: async (run: FaultRun) => {
    const id = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] });
    await run.reach(id, 'dev', ['bumping', 'diffing', 'applying', 'succeeded']);
    await run.sleep(run.random.int(0, 400));
  },
  /** While `deploy.diff` runs (slowed to 2s). */
  diff: async (run: FaultRun) => {
    await run.setFile('delay-diff', '2');
    const id = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] });
    await run.reach(id, 'dev', ['diffing']);
    await run.sleep(run.random.int(0, 2_000));
  },
  /** While staging waits for approval; the decision (seeded) comes after the new worker starts. */
  'approval wait': async (run: FaultRun) => {
    const reject = run.random.chance(0.5);
    run.approver = () => !reject;
    run.note(reject ? 'staging rejected after the kill' : 'staging approved after the kill');
    const id = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] });
    await run.reach(id, 'staging', ['waiting-approval']);
    await run.sleep(run.random.int(0, 1_500));
  },
  /** While `deploy.apply` runs (slowed to 2s). */
  apply: async (run: FaultRun) => {
    await run.setFile('delay-apply', '2');
    await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] });
    await run.logged(/ apply-start dev /);
    await run.sleep(run.random.int(0, 2_000));
  },
  /** While a failed apply in staging is compensated: the revert commit, then a (2s) rollback. */
  compensation: async (run: FaultRun) => {
    await run.setFile('fail-apply-staging', 'injected');
    await run.setFile('delay-rollback', '2');
    const id = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] });
    await run.reach(id, 'staging', ['waiting-approval']);
    await decide(run.client, id, { env: 'staging', approved: true, by: 'alice' });
    await run.logged(/ failed staging /);
    await run.sleep(run.random.int(0, 2_500));
  },
  /** While staging passes from one holder to the next: the release, the grant, the next bump. */
  'lock grant': async (run: FaultRun) => {
    const first = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] });
    await run.reach(first, 'staging', ['waiting-approval']);
    const second = await run.start({ apps: [{ app: 'web', tag: '2.1.0' }] });
    await run.reach(second, 'staging', ['queued']);
    await decide(run.client, first, { env: 'staging', approved: true, by: 'alice' });
    await run.logged(new RegExp(` apply-done staging \\S+ ${first} `));
    await run.sleep(run.random.int(0, 1_500));
  },
} as const;

type Phase = keyof typeof PHASES;
const names = Object.keys(PHASES) as Phase[];
const RUNS = 20;
const runs: [Phase, number][] = Array.from({ length: RUNS }, (_, i) => [
  names[i % names.length] as Phase,
  nextSeed(),
]);

// Concurrent runs may start before beforeAll has finished: they all await this one start.
const shared = FaultServer.shared();
beforeAll(() => {
  announceSeed('sigkill');
});
afterAll(async () => {
  await shared.stop();
});

describe('SIGKILL the worker', () => {
  it.concurrent.each(runs)('SIGKILL the worker during %s [seed %d]', async (phase, seed) => {
    const server = await shared.server();
    const run = await FaultRun.create(server, {
      scenario: `SIGKILL the worker during ${phase}`,
      seed,
      ...(phase === 'lock grant' ? { environments: HELD_THROUGH_APPROVAL } : {}),
    });
    try {
      await run.startWorker();
      await PHASES[phase](run);
      const statuses = await Promise.all(run.promotions.map((id) => run.status(id).catch(() => undefined)));
      run.note(
        `SIGKILL at ${statuses.map((s) => s?.environments.map((e) => `${e.name}:${e.status}`).join(',')).join(' / ')}`,
      );
      await run.killMachine();
      await run.startWorker();
      await run.verify();
    } finally {
      await run.dispose();
    }
  });
});
