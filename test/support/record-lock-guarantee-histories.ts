// Histories of the environment lock's later patched paths taken across continue-as-new
// ('lock-wait-continues-as-new', with 'lock-fails-closed' and 'lock-follows-saga' carried over) and of a
// promotion that waited longer than its lockTimeout ('lock-timeout'), under new names. Each runs only
// when its file is missing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { execa } from 'execa';
import { decide, waitFinished, waitForApproval } from '../../client/promotions.js';
import { environmentLockId, repositoryKey } from '../../common/ids.js';
import { lockRuns } from './record-new-histories.js';
import { scenarioRunner, type Missing, type Save, type ScenarioRunner } from './record-scenario.js';
import { TestRepo } from './repo.js';
import { suggestContinueAsNewAfter, temporalCli, TestTemporal } from './temporal.js';
import { envStatus, eventually } from './wait.js';
import { WorkerProcess } from './worker-process.js';
import { startTagPromotion } from './requests.js';

const staging = [{ name: 'staging', approval: 'manual' as const, proposals: false }];

export async function recordLockGuaranteeHistories(
  temporal: TestTemporal,
  save: Save,
  missing: Missing,
): Promise<void> {
  await recordLockTimeout(scenarioRunner(temporal, save, missing), temporal.client, save);
  if (missing('environment-lock-wakes-to-continue-as-new') || missing('environment-lock-carried-holder'))
    await recordWaitContinuesAsNew(save);
  if (missing('environment-lock-upgraded-to-new-version')) await recordLockUpgrade(save);
}

/** Queued behind a holder waiting for approval longer than staging's lockTimeout: it fails, naming it. */
async function recordLockTimeout({ scenario }: ScenarioRunner, client: Client, save: Save): Promise<void> {
  await scenario(
    ['promote-lock-timed-out'],
    { environments: [{ name: 'staging', approval: 'manual', proposals: false, lockTimeout: '3s' }] },
    async (repo, taskQueue) => {
      const start = (app: string, tag: string) => startTagPromotion(client, taskQueue, repo, { app, tag });
      const holder = await start('api', '1.5.0');
      await waitForApproval(client, holder.workflowId, 'staging');
      const queued = await start('web', '2.1.0');
      await waitFinished(client, queued.workflowId);
      await decide(client, holder.workflowId, { env: 'staging', approved: true, by: 'carol' });
      await waitFinished(client, holder.workflowId);
      await save(client, 'promote-lock-timed-out', queued.workflowId);
    },
  );
}

/**
 * A dev server told to suggest continue-as-new after 40 events (a server setting): the lock, woken by
 * its waiter's re-asserts while the holder waits, continues as new from inside its wait with holder and
 * waiter carried over. Saved: the first run (ending in continue-as-new) and the last one.
 */
async function recordWaitContinuesAsNew(save: Save): Promise<void> {
  const temporal = await TestTemporal.start(suggestContinueAsNewAfter(40));
  const client = temporal.client;
  const repo = await TestRepo.create({ environments: staging });
  try {
    await temporal.withWorker(async ({ taskQueue }) => {
      const start = (app: string, tag: string) => startTagPromotion(client, taskQueue, repo, { app, tag });
      const holder = await start('api', '1.5.0');
      await waitForApproval(client, holder.workflowId, 'staging');
      const waiter = await start('web', '2.1.0');
      await envStatus(client, waiter.workflowId, 'staging', 'queued');
      const lockId = environmentLockId(repositoryKey(repo.url), 'staging');
      const firstRun = await eventually('the lock to continue as new', async () => {
        const runs = await lockRuns(client, lockId);
        return runs.length > 1 ? runs[0] : undefined;
      });
      for (const id of [holder.workflowId, waiter.workflowId]) {
        await waitForApproval(client, id, 'staging');
        await decide(client, id, { env: 'staging', approved: true, by: 'carol' });
        await waitFinished(client, id);
      }
      await save(client, 'environment-lock-wakes-to-continue-as-new', lockId, firstRun);
      const runs = await lockRuns(client, lockId);
      await save(client, 'environment-lock-carried-holder', lockId, runs[runs.length - 1]);
    });
  } finally {
    await repo.remove();
    await temporal.teardown();
  }
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
    await decide(client, h.workflowId, { env: 'staging', approved: true, by: 'carol' });
    await waitFinished(client, h.workflowId);
    await save(client, 'environment-lock-upgraded-to-new-version', lockId, onV1);
  } finally {
    for (const w of workers) await w.kill().catch(() => undefined);
    await repo.remove();
    await rm(dir, { recursive: true, force: true });
    await temporal.teardown();
  }
}
