import { describe } from '@jest/globals';
import { git } from '../../activities/git.js';
import { ensureTool, TEMPORAL_CLI } from '../../server/tools.js';
import { temporalReset } from '../support/reset.js';
import { HELD_THROUGH_APPROVAL, useFaultServer } from './world.js';

/**
 * What operators do to running promotions with Temporal's own tools: `temporal workflow reset` of a
 * promotion mid-run, and an environment lock lost (terminated) and rebuilt while its holder's worker
 * is down, so that the holder cannot answer for itself.
 */
const faults = useFaultServer('operator');

const RESET_TYPES = ['FirstWorkflowTask', 'LastWorkflowTask'] as const;

describe('operators', () => {
  for (const type of RESET_TYPES)
    faults.test(
      `\`temporal workflow reset --type ${type}\` of a promotion waiting for approval`,
      {},
      async (run) => {
        await run.startWorker();
        // Reset replays the promotion from that point in a new run; approved afterwards, it must
        // still deploy exactly once per environment and succeed.
        const id = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, 'succeeded');
        await run.reach(id, 'staging', ['waiting-approval']);
        await run.sleep(run.random.int(0, 1_000));
        const before = await run.snapshot();
        run.note(
          `reset --type ${type} at ${[...(before.environments.get(id) ?? [])].map(([e, s]) => `${e}:${s}`).join(',')}`,
        );
        await temporalReset(
          await ensureTool(TEMPORAL_CLI),
          { address: run.server.address, id, type, reason: `fault suite, seed ${run.options.seed}` },
          { cwd: run.dir, timeout: 60_000 },
        );
        await run.verify();
      },
    );

  faults.test(
    'the environment lock rebuilt while its holder’s worker is stopped',
    { environments: HELD_THROUGH_APPROVAL },
    async (run) => {
      // Holder and waiter on different workers (task queues): the holder's can die alone.
      const holderWorker = await run.startWorker();
      await run.startWorker(run.otherQueue);
      await run.setFile('delay-apply', '1');
      const approve = run.random.chance(0.7);
      const { holder } = await run.holderAndWaiter(approve ? 'succeeded' : 'rejected', run.otherQueue);
      // The holder's machine dies; the lock (on the holder's queue) is lost: the waiter's next
      // re-assertion rebuilds it on the waiter's queue, with a holder that cannot answer queries.
      await run.killWorker(holderWorker);
      await run.terminateLock('staging', `fault suite, seed ${run.options.seed}`);
      const down = run.random.int(5, 12);
      run.note(
        `holder's worker down for ${down}s with the lock terminated; holder ${approve ? 'approved' : 'rejected'}`,
      );
      await run.sleep(down * 1_000);
      await run.startWorker();
      await run.decide(holder, approve, 'seeded');
      await run.verify({ settleTimeoutMs: 90_000, nextTimeoutMs: 90_000 });
    },
  );

  /**
   * A person merges the proposal branch by hand (a merge commit on the deployment branch, as GitHub's
   * merge button makes), then staging is rejected in promote. The rejection must revert the bump the
   * merge brought in (patch 'hand-merged-proposal').
   */
  faults.test('a proposal branch merged by hand, then rejected', {}, async (run) => {
    await run.startWorker();
    // Rejected: its bump, merged by hand, must be reverted.
    const id = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, 'rejected');
    const state = await run.reach(id, 'staging', ['waiting-approval']);
    const branch = state.environments.find((e) => e.name === 'staging')?.proposal?.branch;
    if (!branch) throw new Error(`${id} waits in staging without a proposal branch`);
    const cwd = run.repo.url;
    const main = (await git(['rev-parse', 'refs/heads/main'], { cwd })).trim();
    const tree =
      (await git(['merge-tree', '--write-tree', 'main', branch], { cwd })).trim().split('\n')[0] ?? '';
    const merge = (
      await git(
        [
          '-c',
          'user.name=Someone',
          '-c',
          'user.email=someone@example.com',
          'commit-tree',
          tree,
          '-p',
          main,
          '-p',
          branch,
          '-m',
          `Merge branch '${branch}' by hand`,
        ],
        {
          cwd,
        },
      )
    ).trim();
    await git(['update-ref', 'refs/heads/main', merge, main], { cwd });
    run.note(`${branch} merged by hand into main as ${merge.slice(0, 12)}, then staging rejected`);
    await run.sleep(run.random.int(0, 1_500));
    await run.decide(id, false, 'hand merge');
    run.approver = () => false;
    await run.verify();
  });
});
