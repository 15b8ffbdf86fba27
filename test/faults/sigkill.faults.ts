import { describe, it } from '@jest/globals';
import { eventually } from '../support/wait.js';
import { nextSeed } from './seed.js';
import { useFaultTally } from './tally.js';
import { HELD_THROUGH_APPROVAL, snapshotText, type FaultRun, type Snapshot } from './world.js';

/**
 * `promote worker` SIGKILLed — with every deploy command it started, as when its machine dies — at a
 * seeded random point of one step, then a new worker takes over. Twenty runs, the steps in turn.
 *
 * Each step says how to get there (`arrive`), how long it lasts at most (`window`: the seeded delay
 * before the kill is drawn from it) and whether a kill hit it (`hit`, from the snapshot taken right
 * before the kill and the deploy log right after it). A run whose kill missed its step is re-aimed —
 * a fresh run, a shorter delay, the last attempt none — and not counted.
 */
interface Aim {
  /** The promotion the step is about. */
  id: string;
  /** Others the step started (checked by `hit` where it matters). */
  others: string[];
}

interface PhaseSpec {
  window: number;
  arrive(run: FaultRun): Promise<Aim>;
  hit(aim: Aim, before: Snapshot, logAfter: string[]): boolean;
}

const open = (log: string[], start: RegExp, done: RegExp) =>
  log.some((l) => start.test(l)) && !log.some((l) => done.test(l));
const envStatus = (s: Snapshot, id: string, env: string) => s.environments.get(id)?.get(env);
const bumping = (pending: string[] | undefined) =>
  pending?.some((a) => a === 'bumpValues' || a === 'bumpAndDiff') === true;

/** While a deploy command's `step` runs in dev, slowed to 2s: started and, after the kill, never done. */
function slowDevStep(step: 'diff' | 'apply'): PhaseSpec {
  const started = new RegExp(` ${step}-start dev `);
  return {
    window: 2_000,
    arrive: async (run) => {
      await run.setFile(`delay-${step}`, '2');
      const id = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, 'succeeded');
      await run.logged(started);
      return { id, others: [] };
    },
    hit: (_aim, _before, after) => open(after, started, new RegExp(` ${step}-done dev `)),
  };
}

const PHASES: Record<string, PhaseSpec> = {
  /**
   * Mid-push of the bump commit: the bump activity is pending (`bumpAndDiff` from `bump-and-diff` on).
   */
  bump: {
    window: 300,
    arrive: async (run) => {
      const id = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, 'succeeded');
      // The bump takes a few hundred ms: polled closely; not seen at all is a miss, re-aimed.
      await eventually(
        'the bump to be pending',
        async () => (bumping((await run.snapshot()).activities.get(id)) ? true : undefined),
        60_000,
        20,
      ).catch(() => undefined);
      return { id, others: [] };
    },
    // Its diff may have started by the kill: the same activity, retried whole (the diff phase aims there).
    hit: (aim, before) => bumping(before.activities.get(aim.id)),
  },
  /** While `deploy.diff` runs (slowed to 2s): in the activity that bumped, from `bump-and-diff` on. */
  diff: slowDevStep('diff'),
  /** While staging waits for approval; the decision (seeded) comes after the new worker starts. */
  'approval wait': {
    window: 1_500,
    arrive: async (run) => {
      const reject = run.random.chance(0.5);
      run.approver = () => !reject;
      run.note(reject ? 'staging rejected after the kill' : 'staging approved after the kill');
      const id = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, reject ? 'rejected' : 'succeeded');
      await run.reach(id, 'staging', ['waiting-approval']);
      return { id, others: [] };
    },
    hit: (aim, before) => envStatus(before, aim.id, 'staging') === 'waiting-approval',
  },
  /** While `deploy.apply` runs in dev (slowed to 2s). */
  apply: slowDevStep('apply'),
  /**
   * While a failed apply in staging is compensated: the revert commit, then a (2s) rollback. The
   * injected apply failure is meant to fail the promotion: `failed` (compensated) is its outcome.
   */
  compensation: {
    window: 2_500,
    arrive: async (run) => {
      await run.setFile('fail-apply-staging', 'injected');
      await run.setFile('delay-rollback', '2');
      const id = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, 'failed');
      await run.reach(id, 'staging', ['waiting-approval']);
      await run.decide(id, true);
      await run.logged(/ failed staging /);
      return { id, others: [] };
    },
    // Still running at the kill, and its rollback (if it started one) did not finish.
    hit: (aim, before, after) =>
      before.running.has(aim.id) && !after.some((l) => / rollback-done staging /.test(l)),
  },
  /**
   * While staging passes from one holder to the next: the release, the grant, the next bump. Applies
   * are slowed (1s) so that the next holder applying before the first one finished would show.
   */
  'lock grant': {
    window: 1_500,
    arrive: async (run) => {
      await run.setFile('delay-apply', '1');
      const { holder: first, waiter: second } = await run.holderAndWaiter('succeeded');
      await run.decide(first, true);
      await run.logged(new RegExp(` apply-done staging \\S+ ${first} `));
      return { id: first, others: [second] };
    },
    // The first holder still releasing, or the second not yet past its bump in staging.
    hit: (aim, before) =>
      before.running.has(aim.id) ||
      aim.others.some((id) =>
        ['pending', 'queued', 'bumping'].includes(envStatus(before, id, 'staging') ?? ''),
      ),
  },
};

const names = Object.keys(PHASES);
const RUNS = 20;
const runs = Array.from({ length: RUNS }, (_, i) => {
  const phase = names[i % names.length] ?? '';
  return [phase, nextSeed(), PHASES[phase]] as const;
});

/** phase → runs whose kill hit it, and kills that missed it (re-aimed); the one shared fault server. */
const fireUntilHit = useFaultTally('sigkill', {
  heading: 'phase hit by the kill',
  column: 'phase',
  keys: names,
  width: 14,
  attempts: 4,
  missedAll: 'no kill hit the step',
});

describe('SIGKILL the worker', () => {
  it.concurrent.each(runs)('SIGKILL the worker during %s [seed %d]', async (phase, seed, spec) => {
    if (!spec) throw new Error(`no phase ${phase}`);
    await fireUntilHit(
      phase,
      {
        scenario: `SIGKILL the worker during ${phase}`,
        seed,
        ...(phase === 'lock grant' ? { environments: HELD_THROUGH_APPROVAL } : {}),
      },
      spec.window,
      async (run, delay) => {
        await run.startWorker();
        const aim = await spec.arrive(run);
        const ms = await delay();
        const before = await run.snapshot();
        await run.killMachine();
        const after = await run.repo.deployLog();
        return {
          hit: spec.hit(aim, before, after),
          fired: `SIGKILL ${ms}ms into ${phase}`,
          at: snapshotText(before),
          verify: async () => {
            await run.startWorker();
            await run.verify();
          },
        };
      },
    );
  });
});
