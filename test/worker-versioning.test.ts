import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { decide, getStatus, waitFinished, waitForApproval } from '../client/promotions.js';
import { environmentLockId, repositoryKey } from '../common/ids.js';
import { lockStateQuery } from '../common/definitions.js';
import { PROJECT_ROOT } from '../server/tools.js';
import { TestRepo } from './support/repo.js';
import { DEV_AUTO_THEN_STAGING_HELD } from './support/environments.js';
import { temporalCli, TestTemporal } from './support/temporal.js';
import { eventually } from './support/wait.js';
import { WorkerProcess } from './support/worker-process.js';
import { startTagPromotion } from './support/requests.js';

/**
 * A rainbow rollout of `promote worker` with Worker Versioning, as docs/worker-rollouts.md tells it:
 * two real worker processes of one Worker Deployment on one dev server, every step a `temporal worker
 * deployment` command. A promotion started on v1 (auto-upgrade) finishes on v2 once v2 is current; its
 * environment lock stays pinned to v1 until it continues as new onto v2; v1 drains and is stopped.
 */

const DEPLOYMENT = 'promote';
const TASK_QUEUE = 'versioned';
let temporal: TestTemporal;
let dir: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  // The server re-computes a version's drainage every few minutes by default: a second here.
  temporal = await TestTemporal.start({
    extraArgs: [
      '--dynamic-config-value',
      'matching.wv.VersionDrainageStatusVisibilityGracePeriod="1s"',
      '--dynamic-config-value',
      'matching.wv.VersionDrainageStatusRefreshInterval="1s"',
    ],
  });
  dir = await mkdtemp(join(tmpdir(), 'promote-versioning-'));
}, 120_000);

afterEach(async () => {
  for (const w of workers.splice(0)) await w.kill().catch(() => undefined);
  await TestRepo.removeAll();
});

afterAll(async () => {
  await temporal?.teardown();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `temporal …` against the test server, JSON out: the commands docs/worker-rollouts.md shows. */
async function cli<T>(...args: string[]): Promise<T> {
  const { stdout } = await execa(temporalCli(), [...args, '--address', temporal.address, '--output', 'json']);
  return (stdout.trim() ? JSON.parse(stdout) : {}) as T;
}

/** The parts of `temporal worker deployment describe-version -o json` the rollout waits on. */
interface VersionDescription {
  drainageInfo?: { drainageStatus?: string };
}

async function startWorker(repo: TestRepo, env: Record<string, string>): Promise<WorkerProcess> {
  const worker = await WorkerProcess.start({
    TEMPORAL_ADDRESS: temporal.address,
    PROMOTE_TASK_QUEUE: TASK_QUEUE,
    PROMOTE_CACHE_DIR: join(dir, `cache-${workers.length}`),
    PROMOTE_DEMO_CLUSTER: repo.cluster,
    PROMOTE_LOCK_LEASE_MS: '1000',
    PROMOTE_LOCK_REASSERT_MS: '2000',
    // A free lock pinned to v1 leaves it by ending after this idle time (5 minutes by default).
    PROMOTE_LOCK_IDLE_MS: '5000',
    PROMOTE_SHUTDOWN_GRACE_MS: '10000',
    PROMOTE_WORKER_DEPLOYMENT: DEPLOYMENT,
    ...env,
  });
  workers.push(worker);
  return worker;
}

function buildIdOf(worker: WorkerProcess): string {
  const match = /worker deployment "promote" build id "([^"]+)"/.exec(worker.log);
  if (!match?.[1]) throw new Error(`the worker did not log its build id:\n${worker.log}`);
  return match[1];
}

/** Step 2 of the rollout: make a version current once its workers have polled (the server knows it then). */
function setCurrent(buildId: string): Promise<unknown> {
  return eventually(`${buildId} to become current`, () =>
    cli<unknown>(
      'worker',
      'deployment',
      'set-current-version',
      '--deployment-name',
      DEPLOYMENT,
      '--build-id',
      buildId,
      '--yes',
    ).then(() => true),
  );
}

/** The parts of `temporal workflow describe -o json` the test reads. */
interface WorkflowDescription {
  workflowExecutionInfo: { execution: { runId: string }; status: string; versioningInfo?: Versioning };
}

interface Versioning {
  behavior?: string;
  deploymentVersion?: { deploymentName?: string; buildId?: string };
}

/** `temporal workflow describe`: a run's status and the version it runs on, with its behaviour. */
async function describeRun(
  workflowId: string,
  runId?: string,
): Promise<{ runId: string; status: string; versioning: Versioning }> {
  const out = await cli<WorkflowDescription>(
    'workflow',
    'describe',
    '--workflow-id',
    workflowId,
    ...(runId ? ['--run-id', runId] : []),
  );
  const info = out.workflowExecutionInfo;
  return { runId: info.execution.runId, status: info.status, versioning: info.versioningInfo ?? {} };
}

describe('a rainbow rollout of versioned workers', () => {
  it('moves a waiting promotion to the new current version, pins the lock until continue-as-new, and drains the old version', async () => {
    // staging is held through its approval, so the lock has a holder to carry across versions.
    const repo = await TestRepo.create({ environments: DEV_AUTO_THEN_STAGING_HELD });

    // v1: the build id is the package version and the workflow bundle's hash.
    const v1 = await startWorker(repo, {});
    const v1Build = buildIdOf(v1);
    const { version } = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(v1Build).toMatch(new RegExp(`^${version.replace(/\./g, '\\.')}-[0-9a-f]{12}$`));
    await setCurrent(v1Build);

    const handle = await startTagPromotion(temporal.client, TASK_QUEUE, repo);
    await waitForApproval(temporal.client, handle.workflowId, 'staging');
    const lockId = environmentLockId(repositoryKey(repo.url), 'staging');
    const onV1 = await describeRun(lockId);
    expect(onV1.versioning).toMatchObject({
      behavior: 'VERSIONING_BEHAVIOR_PINNED',
      deploymentVersion: { buildId: v1Build },
    });
    expect((await describeRun(handle.workflowId)).versioning).toMatchObject({
      behavior: 'VERSIONING_BEHAVIOR_AUTO_UPGRADE',
      deploymentVersion: { buildId: v1Build },
    });

    // v2 starts beside v1 (new code would get a new build id by itself; the same code is named here).
    const v2Build = `${v1Build}-next`;
    await startWorker(repo, { PROMOTE_WORKER_BUILD_ID: v2Build });
    await setCurrent(v2Build);

    // The lock run pinned to v1 continues as new, pinned to v2 now, still held by the waiting promotion.
    const onV2 = await eventually('the lock to continue as new on v2', async () => {
      const current = await describeRun(lockId);
      return current.runId !== onV1.runId && current.versioning.deploymentVersion?.buildId === v2Build
        ? current
        : undefined;
    });
    expect(onV2.versioning.behavior).toBe('VERSIONING_BEHAVIOR_PINNED');
    expect((await describeRun(lockId, onV1.runId)).status).toBe('WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW');
    const lockState = await temporal.client.workflow.getHandle(lockId).query(lockStateQuery);
    expect(lockState.holder?.holder).toBe(handle.workflowId);

    // Nothing is pinned to v1 any more: it drains, and is stopped.
    await eventually('v1 to be drained', async () => {
      const out = await cli<VersionDescription>(
        'worker',
        'deployment',
        'describe-version',
        '--deployment-name',
        DEPLOYMENT,
        '--build-id',
        v1Build,
      );
      return out.drainageInfo?.drainageStatus === 'drained' ? true : undefined;
    });
    await v1.stop();

    await decide(temporal.client, handle.workflowId, { env: 'staging', approved: true, by: 'carol' });
    const final = await waitFinished(temporal.client, handle.workflowId);
    expect(final.status).toBe('succeeded');
    expect(final.environments.map((e) => e.status)).toEqual(['succeeded', 'succeeded']);
    expect(await repo.live('staging')).toContain('tag: "1.5.0"');
    expect((await describeRun(handle.workflowId)).versioning.deploymentVersion?.buildId).toBe(v2Build);
    // The lock, on v2, took the release: the environment is free for the next promotion.
    await eventually('the lock to be free', async () => {
      const state = await temporal.client.workflow.getHandle(lockId).query(lockStateQuery);
      return state.holder === undefined ? true : undefined;
    });
    expect((await getStatus(temporal.client, handle.workflowId)).status).toBe('succeeded');
  }, 600_000);
});

describe('promote worker with a bad Worker Deployment setting', () => {
  it.each([
    [
      { PROMOTE_WORKER_DEPLOYMENT: 'promote.v1' },
      'PROMOTE_WORKER_DEPLOYMENT="promote.v1" must be letters, digits',
    ],
    [
      { PROMOTE_WORKER_DEPLOYMENT: 'promote', PROMOTE_WORKER_BUILD_ID: 'a b' },
      'PROMOTE_WORKER_BUILD_ID="a b" must be',
    ],
    [
      { PROMOTE_WORKER_BUILD_ID: '1.2.3' },
      'PROMOTE_WORKER_BUILD_ID is set but PROMOTE_WORKER_DEPLOYMENT is not',
    ],
  ])('%j is refused before anything starts (exit 2)', async (env, message) => {
    const result = await execa(process.execPath, [join(PROJECT_ROOT, 'bin', 'promote.js'), 'worker'], {
      env: { TEMPORAL_ADDRESS: temporal.address, PROMOTE_TASK_QUEUE: 'never-polled', ...env },
      reject: false,
      timeout: 60_000,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout + result.stderr).not.toContain('worker polling');
  });
});
