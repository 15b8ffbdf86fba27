import { describe, it } from '@jest/globals';
import { execa } from 'execa';
import { ensureTool, TEMPORAL_CLI } from '../../server/tools.js';
import { lockStateQuery } from '../../common/definitions.js';
import { eventually } from '../support/wait.js';
import type { WorkerProcess } from '../support/worker-process.js';
import { nextSeed } from './seed.js';
import { useFaultTally } from './tally.js';
import type { Violation } from './invariants.js';
import { snapshotText, type FaultRun } from './world.js';

/**
 * A rainbow rollout of `promote worker` (docs/worker-rollouts.md) with promotions in flight: two waiting
 * for approval in staging and one mid-apply in dev (a slow deploy) on Worker Deployment version v1, its
 * dev lock pinned to v1. v2 starts and becomes current (`temporal worker deployment
 * set-current-version`); once nothing of the run is pinned to v1 any more, v1 is stopped — by SIGTERM
 * (the apply finishes in the worker's shutdown grace), or by SIGTERM and then, during that drain, a
 * SIGKILL of its pod (the apply dies with it and is retried on v2 after its heartbeat timeout). Every
 * promotion must still succeed, on v2, with the usual invariants (no overlapping applies, no leftovers).
 *
 * The phase is checked at the stop: the promotions where they were meant to be and the slow apply
 * still running on v1 (for the SIGKILL, still running when the pod died). A stop that missed it is
 * re-aimed — a fresh run, a shorter delay, the last attempt none — and not counted.
 */
interface Variant {
  /** SIGKILL the pod this long after the SIGTERM, during the drain (drawn from [0, bound]). */
  killAfterTermMs?: number;
}

const VARIANTS: Record<string, Variant> = {
  'v1 stopped by SIGTERM': {},
  'v1 stopped by SIGTERM, then SIGKILLed during its drain': { killAfterTermMs: 3_000 },
};

/** The seeded wait between "nothing pinned to v1" and the stop; halved at each re-aim. */
const WINDOW_MS = 4_000;
/** The slow apply on v1: long enough to outlast setting v2 current and the lock's move onto it. */
const SLOW_APPLY_S = '60';

const fireUntilHit = useFaultTally('rollout', {
  heading: 'phase hit by the stop',
  column: 'variant',
  keys: Object.keys(VARIANTS),
  width: 56,
  attempts: 3,
  missedAll: 'no stop hit the phase',
});

/** `temporal …` against the fault server, JSON out: the commands docs/worker-rollouts.md shows. */
async function cli<T>(run: FaultRun, ...args: string[]): Promise<T> {
  const temporal = await ensureTool(TEMPORAL_CLI);
  const { stdout } = await execa(temporal, [...args, '--address', run.server.address, '--output', 'json'], {
    cwd: run.dir,
    timeout: 60_000,
  });
  return (stdout.trim() ? JSON.parse(stdout) : {}) as T;
}

interface Described {
  runId: string;
  status: string;
  behavior?: string;
  buildId?: string;
}

async function describeRun(
  run: FaultRun,
  workflowId: string,
  runId?: string,
): Promise<Described | undefined> {
  const out = await cli<{
    workflowExecutionInfo: {
      execution: { runId: string };
      status: string;
      versioningInfo?: { behavior?: string; deploymentVersion?: { buildId?: string } };
    };
  }>(run, 'workflow', 'describe', '--workflow-id', workflowId, ...(runId ? ['--run-id', runId] : [])).catch(
    () => undefined,
  );
  if (!out) return undefined;
  const info = out.workflowExecutionInfo;
  return {
    runId: info.execution.runId,
    status: info.status,
    ...(info.versioningInfo?.behavior ? { behavior: info.versioningInfo.behavior } : {}),
    ...(info.versioningInfo?.deploymentVersion?.buildId
      ? { buildId: info.versioningInfo.deploymentVersion.buildId }
      : {}),
  };
}

/** Step 1/3 of the rollout: make a version current once its workers have polled (the server knows it then). */
async function setCurrent(run: FaultRun, deployment: string, buildId: string): Promise<void> {
  await eventually(`${buildId} to become current`, () =>
    cli(
      run,
      'worker',
      'deployment',
      'set-current-version',
      '--deployment-name',
      deployment,
      '--build-id',
      buildId,
      '--yes',
    ).then(() => true),
  );
}

/** The run's environment lock of `env`, whichever way its id was spelled. */
async function lockOf(run: FaultRun, env: string): Promise<{ id: string; run: Described } | undefined> {
  for (const id of run.lockIds(env)) {
    const described = await describeRun(run, id);
    if (described) return { id, run: described };
  }
  return undefined;
}

const RUNNING = 'WORKFLOW_EXECUTION_STATUS_RUNNING';
const PINNED = 'VERSIONING_BEHAVIOR_PINNED';

const openApply = (log: string[], id: string) =>
  log.some((l) => new RegExp(` apply-start dev \\S+ ${id} `).test(l)) &&
  !log.some((l) => new RegExp(` apply-done dev \\S+ ${id} `).test(l));

describe('worker version rollout', () => {
  it.concurrent.each(Object.entries(VARIANTS).map(([name, variant]) => [name, nextSeed(), variant] as const))(
    'worker version rollout with promotions in flight: %s [seed %d]',
    (name, seed, variant) =>
      fireUntilHit(
        name,
        {
          scenario: `worker version rollout with promotions in flight: ${name}`,
          seed,
          // One app per promotion: their staging proposals never touch the same line.
          apps: { api: '1.4.0', web: '2.0.3', jobs: '3.0.0', cron: '0.9.0' },
        },
        WINDOW_MS,
        async (run, delay) => {
          const deployment = `${run.taskQueue}-deployment`;
          const versioned = (buildId: string): Record<string, string> => ({
            PROMOTE_WORKER_DEPLOYMENT: deployment,
            PROMOTE_WORKER_BUILD_ID: buildId,
            // A free lock pinned to a version leaves it by ending after this idle time.
            PROMOTE_LOCK_IDLE_MS: '5000',
            // Longer than the slow apply: a SIGTERM lets it finish (the SIGKILL variant cuts it short).
            PROMOTE_SHUTDOWN_GRACE_MS: '120000',
          });
          const v1 = await run.startWorker(run.taskQueue, versioned('v1'));
          await setCurrent(run, deployment, 'v1');

          // Two promotions wait for approval in staging (their proposals), applies slowed so an
          // overlap would show; then a third is mid-apply in dev, slowly, holding dev's lock on v1.
          await run.setFile('delay-apply', '1');
          const waiting = [
            await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, 'succeeded'),
            await run.start({ apps: [{ app: 'web', tag: '2.1.0' }] }, 'succeeded'),
          ];
          for (const id of waiting) await run.reach(id, 'staging', ['waiting-approval']);
          await run.setFile('delay-apply', SLOW_APPLY_S);
          const applying = await run.start({ apps: [{ app: 'jobs', tag: '3.1.0' }] }, 'succeeded');
          await run.logged(new RegExp(` apply-start dev \\S+ ${applying} `)).catch(async (error: unknown) => {
            throw new Error(`${String(error)}\n  ${await whereThings(run, applying, 'dev')}`);
          });
          const devLockOnV1 = await lockOf(run, 'dev');
          if (devLockOnV1?.run.behavior !== PINNED || devLockOnV1.run.buildId !== 'v1')
            throw new Error(`dev's lock is not pinned to v1: ${JSON.stringify(devLockOnV1)}`);

          // v2 starts beside v1 and becomes current.
          const v2 = await run.startWorker(run.taskQueue, versioned('v2'));
          await setCurrent(run, deployment, 'v2');
          // Drained, for this run: no lock of it still runs pinned to v1 (dev's continues as new onto v2).
          await eventually('no lock of the run pinned to v1', async () => {
            for (const env of run.environments) {
              const lock = await lockOf(run, env.name);
              if (lock?.run.status === RUNNING && lock.run.buildId !== 'v2') return undefined;
            }
            return true;
          });

          const ms = await delay();
          const before = await run.snapshot();
          const killAfter =
            variant.killAfterTermMs === undefined ? undefined : run.random.int(0, variant.killAfterTermMs);
          const stopped = await stopV1(run, v1, killAfter);
          const after = await run.repo.deployLog();
          return {
            hit:
              waiting.every((id) => before.environments.get(id)?.get('staging') === 'waiting-approval') &&
              before.environments.get(applying)?.get('dev') === 'applying' &&
              openApply(before.log, applying) &&
              // SIGKILLed during the drain: the apply died with the pod, not finished in the drain.
              (killAfter === undefined || openApply(after, applying)),
            fired: `v2 current, v1 ${stopped} ${ms}ms after the lock moved`,
            at: snapshotText(before),
            verify: async () => {
              // The waiting promotions are approved now (settle), on v2; the slow apply ends (or is retried) there.
              await run.setFile('delay-apply', '1');
              await run.verify({
                nextApp: 'cron',
                extra: () =>
                  checkOnV2(run, [...waiting, applying], devLockOnV1.id, devLockOnV1.run.runId, v2),
              });
            },
          };
        },
      ),
  );
});

/** SIGTERM to v1 (a deploy's stop); with `killAfter`, SIGKILL of its pod that long into the drain. */
async function stopV1(run: FaultRun, v1: WorkerProcess, killAfter: number | undefined): Promise<string> {
  if (killAfter === undefined) {
    await run.stopWorker(v1);
    return 'SIGTERMed';
  }
  const draining = run.stopWorker(v1);
  await run.sleep(killAfter);
  await run.killWorkerWithCommands(v1);
  await draining;
  return `SIGTERMed, SIGKILLed ${killAfter}ms into the drain`;
}

/** What a stuck step was waiting on: the promotion's environments and the lock's own state. */
async function whereThings(run: FaultRun, id: string, env: string): Promise<string> {
  const state = await run.status(id).catch(() => undefined);
  const envs = (state?.environments ?? []).map(
    (e) => `${e.name}:${e.status}${e.queuedBehind ? ` behind ${e.queuedBehind}` : ''}`,
  );
  const lock = await lockOf(run, env);
  const lockState = lock
    ? await run.client.workflow
        .getHandle(lock.id)
        .query(lockStateQuery)
        .catch((error: unknown) => String(error))
    : 'no lock';
  return `${id}: ${envs.join('; ')}\n  ${env} lock ${JSON.stringify(lock?.run)}: ${JSON.stringify(lockState)}`;
}

/**
 * The rollout's own promise: every promotion finished on v2 (auto-upgrade), and dev's lock, pinned to
 * v1 with its holder, continued as new onto v2 (pinned there) rather than being lost or rebuilt.
 */
async function checkOnV2(
  run: FaultRun,
  ids: string[],
  lockId: string,
  v1RunId: string,
  v2: WorkerProcess,
): Promise<Violation[]> {
  const invariant = 'promotions upgrade to the current version; locks continue as new onto it, pinned';
  const violations: Violation[] = [];
  if (!run.workers.includes(v2)) violations.push({ invariant, detail: 'v2 is no longer running' });
  for (const id of ids) {
    const d = await describeRun(run, id);
    if (d?.buildId !== 'v2' || d.behavior !== 'VERSIONING_BEHAVIOR_AUTO_UPGRADE')
      violations.push({ invariant, detail: `${id} ended on ${d?.buildId ?? '?'} (${d?.behavior ?? '?'})` });
  }
  const old = await describeRun(run, lockId, v1RunId);
  if (old?.status !== 'WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW')
    violations.push({
      invariant,
      detail: `dev's lock run on v1 ended ${old?.status ?? '?'}, not continued as new`,
    });
  const now = await describeRun(run, lockId);
  if (now && now.runId !== v1RunId && (now.buildId !== 'v2' || now.behavior !== PINNED))
    violations.push({
      invariant,
      detail: `dev's lock now runs on ${now.buildId ?? '?'} (${now.behavior ?? '?'})`,
    });
  return violations;
}
