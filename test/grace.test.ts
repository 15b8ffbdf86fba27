import { afterEach, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cancelPromotion, waitFinished } from '../client/promotions.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { WorkerProcess } from './support/worker-process.js';
import { startTagPromotion } from './support/requests.js';
import { isRunning } from './support/processes.js';

/**
 * A cancel gives a running deploy command SIGTERM and, after the grace time, SIGKILL — to its whole
 * process group. Exercised with the real `promote worker` and an apply that ignores SIGTERM and leaves
 * a child that ignores it too: only the SIGKILL of the group can end them.
 */
const suite = useTemporal();
let worker: WorkerProcess | undefined;
let dir: string | undefined;

afterEach(async () => {
  await worker?.kill().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const STUBBORN_DEPLOY = `#!/usr/bin/env bash
# An apply that ignores SIGTERM and has a child that ignores it too (a helm hook, a kubectl wait).
action="$1"; env="$2"; cluster="\${PROMOTE_DEMO_CLUSTER:?}"
alive() { kill -0 "$(cat "$cluster/$1.pid")" 2>/dev/null && echo alive || echo dead; }
case "$action" in
  diff) echo "diff of $env" ;;
  status) cat "$cluster/$env.commit" 2>/dev/null || true ;;
  rollback)
    echo "rollback apply:$(alive apply) child:$(alive child)" >> "$cluster/grace.log"
    cp "environments/$env.yaml" "$cluster/$env.yaml" ;;
  apply)
    bash -c 'trap "echo child got SIGTERM >> \\"$0/grace.log\\"" TERM; echo $$ > "$0/child.pid"; while :; do sleep 0.2; done' "$cluster" &
    trap 'echo apply got SIGTERM >> "$cluster/grace.log"' TERM
    echo $$ > "$cluster/apply.pid"
    while :; do sleep 0.2; done ;;
esac
`;

/**
 * Cancels a promotion whose apply ignores SIGTERM and checks that its command and child end only by
 * the group's SIGKILL, and that compensation starts only after that. `stallMs`: the worker process is
 * stopped (SIGSTOP) that long right after the SIGTERM, as a starved machine stalls it: no heartbeat of
 * the cancelled apply reaches Temporal meanwhile.
 */
async function cancelStubbornApply(stallMs = 0): Promise<void> {
  const repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
  dir = await mkdtemp(join(tmpdir(), 'promote-grace-'));
  const script = join(dir, 'stubborn-deploy.sh');
  await writeFile(script, STUBBORN_DEPLOY);
  await chmod(script, 0o755);
  await repo.deployThrough(script, 'chore: a stubborn deploy command');
  const taskQueue = `grace-${process.pid}-${stallMs}`;
  worker = await WorkerProcess.start({
    TEMPORAL_ADDRESS: suite.temporal.address,
    PROMOTE_TASK_QUEUE: taskQueue,
    PROMOTE_CACHE_DIR: join(dir, 'cache'),
    PROMOTE_DEMO_CLUSTER: repo.cluster,
  });
  const handle = await startTagPromotion(suite.temporal.client, taskQueue, repo);
  const pidOf = async (name: string) =>
    Number((await readFile(join(repo.cluster, `${name}.pid`), 'utf8')).trim());
  const pids = await eventually('the apply and its child to run', async () =>
    existsSync(join(repo.cluster, 'apply.pid')) && existsSync(join(repo.cluster, 'child.pid'))
      ? { apply: await pidOf('apply'), child: await pidOf('child') }
      : undefined,
  );
  const log = () => readFile(join(repo.cluster, 'grace.log'), 'utf8').catch(() => '');

  await cancelPromotion(suite.temporal.client, handle.workflowId);
  // SIGTERM went to the whole group: both got it, and both ignored it.
  await eventually('both to get SIGTERM', async () =>
    /apply got SIGTERM/.test(await log()) && /child got SIGTERM/.test(await log()) ? true : undefined,
  );
  if (stallMs > 0) {
    const pid = worker.pid;
    if (!pid) throw new Error('the worker has no pid');
    process.kill(pid, 'SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, stallMs));
    process.kill(pid, 'SIGCONT');
  } else {
    expect([isRunning(pids.apply), isRunning(pids.child)]).toEqual([true, true]);
  }
  // Only a SIGKILL can end them now: the group's, after the grace time.
  await eventually(
    'the apply and its child to be killed',
    () => Promise.resolve(!isRunning(pids.apply) && !isRunning(pids.child) ? true : undefined),
    120_000,
  );

  const final = await waitFinished(suite.temporal.client, handle.workflowId);
  expect(final.status).toBe('cancelled');
  expect(final.environments[0]).toMatchObject({ status: 'reverted', rolledBack: true });
  // Compensation started only once the command had really stopped.
  expect((await log()).split('\n').filter((l) => l.startsWith('rollback'))).toEqual([
    'rollback apply:dead child:dead',
  ]);
  expect(await repo.live('dev')).toBe(await repo.file('environments/dev.yaml'));
}

describe('cancelling a deploy command that ignores SIGTERM', () => {
  it('ends it and its child by SIGKILL of the group after the grace time, then compensates', async () => {
    await cancelStubbornApply();
  }, 240_000);

  /**
   * Under load the cancelled apply's heartbeats come late. Had Temporal taken the attempt for lost
   * (heartbeat timeout) during the grace, the workflow would compensate while the command still ran:
   * the deploy heartbeat timeout (60 s) outlasts the grace (30 s) and a stall of the worker.
   */
  it('compensates only after the group is gone even when the worker stalls 15 s during the grace', async () => {
    await cancelStubbornApply(15_000);
  }, 300_000);
});
