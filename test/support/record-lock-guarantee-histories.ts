// Histories of the environment lock's later patched paths taken across continue-as-new
// ('lock-wait-continues-as-new', with 'lock-fails-closed' and 'lock-follows-saga' carried over) and of a
// promotion that waited longer than its lockTimeout ('lock-timeout'), under new names. Each runs only
// when its file is missing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { waitFinished, waitForApproval } from '../../client/promotions.js';
import { environmentLockId, repositoryKey } from '../../common/ids.js';
import { lockRuns, recordLockAcrossContinueAsNew } from './record-new-histories.js';
import { approveToEnd, type Recorder, type Save } from './record-scenario.js';
import { TestRepo } from './repo.js';
import { temporalCli, TestTemporal } from './temporal.js';
import { eventually } from './wait.js';
import { WorkerProcess } from './worker-process.js';
import { startTagPromotion } from './requests.js';

const staging = [{ name: 'staging', approval: 'manual' as const, proposals: false }];

export async function recordLockGuaranteeHistories(recorder: Recorder): Promise<void> {
  const { save, missing } = recorder;
  await recordLockTimeout(recorder);
  // The lock, woken by its waiter's re-asserts while the holder waits, continues as new from inside its
  // wait with holder and waiter carried over ('lock-wait-continues-as-new').
  await recordLockAcrossContinueAsNew(save, missing, staging, {
    first: 'environment-lock-wakes-to-continue-as-new',
    last: 'environment-lock-carried-holder',
  });
  if (missing('environment-lock-upgraded-to-new-version')) await recordLockUpgrade(save);
}

/** Queued behind a holder waiting for approval longer than staging's lockTimeout: it fails, naming it. */
async function recordLockTimeout({ scenario, client, save }: Recorder): Promise<void> {
  await scenario(
    ['promote-lock-timed-out'],
    { environments: [{ name: 'staging', approval: 'manual', proposals: false, lockTimeout: '3s' }] },
    async (repo, taskQueue) => {
      const start = (app: string, tag: string) => startTagPromotion(client, taskQueue, repo, { app, tag });
      const holder = await start('api', '1.5.0');
      await waitForApproval(client, holder.workflowId, 'staging');
      const queued = await start('web', '2.1.0');
      await waitFinished(client, queued.workflowId);
      await approveToEnd(client, holder.workflowId, 'staging');
      await save(client, 'promote-lock-timed-out', queued.workflowId);
    },
  );
}

/**
 * A rainbow rollout as docs/worker-rollouts.md tells it: the lock, pinned to worker version v1 and held
 * by a promotion waiting for approval, continues as new onto v2 once v2 is current
 * ('lock-upgrades-on-continue-as-new'). Saved: the v1 run, ending in that continue-as-new.
 */
async function recordLockUpgrade(save: Save): Promise<void> {
  const temporal = await TestTemporal.start();
  const client = temporal.client;
  const repo = await TestRepo.create({ environments: staging });
  const dir = await mkdtemp(join(tmpdir(), 'promote-record-versions-'));
  const workers: WorkerProcess[] = [];
  const worker = async (env: Record<string, string>) => {
    const started = await WorkerProcess.start({
      TEMPORAL_ADDRESS: temporal.address,
      PROMOTE_TASK_QUEUE: 'versioned',
      PROMOTE_CACHE_DIR: join(dir, `cache-${workers.length}`),
      PROMOTE_DEMO_CLUSTER: repo.cluster,
      PROMOTE_LOCK_LEASE_MS: '1000',
      PROMOTE_LOCK_REASSERT_MS: '2000',
      PROMOTE_SHUTDOWN_GRACE_MS: '10000',
      PROMOTE_WORKER_DEPLOYMENT: 'promote',
      ...env,
    });
    workers.push(started);
    return started;
  };
  const setCurrent = (buildId: string) =>
    eventually(`${buildId} to become current`, async () => {
      const args = ['worker', 'deployment', 'set-current-version', '--deployment-name', 'promote'];
      await execa(temporalCli(), [...args, '--build-id', buildId, '--yes', '--address', temporal.address]);
      return true;
    });
  try {
    const v1 = await worker({});
    const v1Build = /worker deployment "promote" build id "([^"]+)"/.exec(v1.log)?.[1];
    if (!v1Build) throw new Error(`the worker did not log its build id:\n${v1.log}`);
    await setCurrent(v1Build);
    const h = await startTagPromotion(client, 'versioned', repo);
    await waitForApproval(client, h.workflowId, 'staging');
    const lockId = environmentLockId(repositoryKey(repo.url), 'staging');
    const onV1 = (await client.workflow.getHandle(lockId).describe()).runId;
    await worker({ PROMOTE_WORKER_BUILD_ID: `${v1Build}-next` });
    await setCurrent(`${v1Build}-next`);
    await eventually('the lock to continue as new on v2', async () => {
      const runs = await lockRuns(client, lockId);
      return runs.length > 1 ? true : undefined;
    });
    await approveToEnd(client, h.workflowId, 'staging');
    await save(client, 'environment-lock-upgraded-to-new-version', lockId, onV1);
  } finally {
    for (const w of workers) await w.kill().catch(() => undefined);
    await repo.remove();
    await rm(dir, { recursive: true, force: true });
    await temporal.teardown();
  }
}
