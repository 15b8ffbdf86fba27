// `npm run histories:record`: runs representative promotions on a real server and saves their event
// histories under test/histories/. test/replay.test.ts replays them against the current workflow code,
// so a change that would break promotions already running fails CI.
//
// Append-only: a history file that exists is never overwritten (its scenario is not even run again),
// and each new file is appended to test/histories/MANIFEST.json with its sha256. To record the effect
// of a deliberate, patched change, add a scenario under a NEW file name.
import { existsSync } from 'node:fs';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { Client } from '@temporalio/client';
import {
  cancelPromotion,
  decide,
  startPromotion,
  waitFinished,
  waitForApproval,
} from '../../client/promotions.js';
import { environmentLockId } from '../../common/ids.js';
import { TestRepo } from './repo.js';
import { TestTemporal } from './temporal.js';
import { approveToEnd, approveWhenAsked, finished, recorder } from './record-scenario.js';
import { envStatus, eventually } from './wait.js';
import { WorkerProcess } from './worker-process.js';
import { appendToManifest, HISTORIES_DIR, readManifest } from './history-manifest.js';
import { recordNewHistories } from './record-new-histories.js';
import { recordLockHistories } from './record-lock-histories.js';
import { recordProposalHistories } from './record-proposal-histories.js';
import { recordGuaranteeHistories } from './record-guarantee-histories.js';
import { recordLockGuaranteeHistories } from './record-lock-guarantee-histories.js';
import { recordJanitorHistories } from './record-janitor-histories.js';
import { recordGovernanceHistories } from './record-governance-histories.js';
import { recordReviewHistories } from './record-review-histories.js';
import { recordRoundTripHistories } from './record-round-trip-histories.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { startTagPromotion } from './requests.js';

const out = HISTORIES_DIR;
const written: string[] = [];
/** The workflow id of each file written: replay passes it (histories do not contain it). */
const workflowIds: Record<string, string> = {};

/** True when `name` still has to be recorded: neither on disk nor in the manifest. */
function missing(name: string): boolean {
  const file = `${name}.json`;
  return !existsSync(join(out, file)) && !readManifest().histories.some((e) => e.file === file);
}

/** Saves a run's history under a new name; an existing file is left as it is (never overwritten). */
async function save(client: Client, name: string, workflowId: string, runId?: string): Promise<void> {
  if (!missing(name)) {
    process.stdout.write(`kept ${name} (already recorded; histories are append-only)\n`);
    return;
  }
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  // 'wx': fail rather than overwrite, even if the file appeared since the check above.
  await writeFile(join(out, `${name}.json`), `${historyToJSON(history)}\n`, { flag: 'wx' });
  written.push(`${name}.json`);
  workflowIds[`${name}.json`] = workflowId;
  process.stdout.write(`saved ${name} (${history.events?.length ?? 0} events)\n`);
}

const temporal = await TestTemporal.start();
const rec = recorder(temporal, save, missing);
const { client, savingOne } = rec;

await mkdir(out, { recursive: true });
try {
  await savingOne('promote-happy-path', {}, async (repo, taskQueue) => {
    const h = await startPromotion(
      client,
      {
        repo: repo.url,
        apps: [
          { app: 'api', tag: '1.5.0' },
          { app: 'web', tag: '2.1.0' },
        ],
      },
      { taskQueue },
    );
    await approveWhenAsked(client, h.workflowId, 'staging');
    return approveToEnd(client, h.workflowId, 'prod', 'alice');
  });
  await savingOne('promote-rejected', {}, async (repo, taskQueue) => {
    const h = await startTagPromotion(client, taskQueue, repo);
    await waitForApproval(client, h.workflowId, 'staging');
    await decide(client, h.workflowId, { env: 'staging', approved: false, by: 'carol', comment: 'freeze' });
    return finished(client, h.workflowId);
  });
  await savingOne('promote-failed-apply-compensated', {}, async (repo, taskQueue) => {
    await repo.failApply('dev', 'cluster unreachable');
    return finished(client, (await startTagPromotion(client, taskQueue, repo)).workflowId);
  });
  await savingOne('promote-cancelled-while-waiting', {}, async (repo, taskQueue) => {
    const h = await startTagPromotion(client, taskQueue, repo);
    await waitForApproval(client, h.workflowId, 'staging');
    await cancelPromotion(client, h.workflowId);
    return finished(client, h.workflowId);
  });
  await rec.saving(['promote-superseded', 'environment-lock'], {}, async (repo, taskQueue) => {
    const older = await startTagPromotion(client, taskQueue, repo);
    await waitForApproval(client, older.workflowId, 'staging');
    const newer = await startTagPromotion(client, taskQueue, repo, { tag: '1.6.0' });
    await waitFinished(client, older.workflowId);
    await envStatus(client, newer.workflowId, 'staging', 'waiting-approval');
    await cancelPromotion(client, newer.workflowId);
    await waitFinished(client, newer.workflowId);
    return {
      'environment-lock': environmentLockId(repo.url, 'staging'),
      'promote-superseded': older.workflowId,
    };
  });

  // Resume: the worker (and its deploy command) is SIGKILLed mid-apply and another one finishes.
  if (missing('promote-resumed-after-worker-kill')) {
    const repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    const cache = await mkdtemp(join(tmpdir(), 'promote-record-'));
    await writeFile(join(repo.cluster, 'slow-apply'), '3');
    const env = (n: number) => ({
      TEMPORAL_ADDRESS: temporal.address,
      PROMOTE_TASK_QUEUE: 'record-resume',
      PROMOTE_CACHE_DIR: join(cache, String(n)),
      PROMOTE_DEMO_CLUSTER: repo.cluster,
      PROMOTE_LOCK_LEASE_MS: '1000',
    });
    const first = await WorkerProcess.start(env(1));
    const h = await startTagPromotion(client, 'record-resume', repo);
    await envStatus(client, h.workflowId, 'dev', 'applying');
    await eventually('apply to start', async () => ((await repo.deployLog()).length > 0 ? true : undefined));
    await first.kill();
    await repo.killApply();
    const second = await WorkerProcess.start(env(2));
    await waitFinished(client, h.workflowId);
    await save(client, 'promote-resumed-after-worker-kill', h.workflowId);
    await second.stop();
    await repo.remove();
    await rm(cache, { recursive: true, force: true });
  }

  // A holder terminated while holding: the lock reverts its bump and hands the environment on.
  await rec.scenario(
    ['environment-lock-abandoned-holder'],
    { environments: [{ name: 'staging', approval: 'manual' }] },
    async (repo, taskQueue) => {
      const stuck = await startTagPromotion(client, taskQueue, repo);
      await waitForApproval(client, stuck.workflowId, 'staging');
      const next = await startTagPromotion(client, taskQueue, repo, { app: 'web', tag: '2.1.0' });
      await envStatus(client, next.workflowId, 'staging', 'queued');
      await stuck.terminate('recording an abandoned holder');
      await waitForApproval(client, next.workflowId, 'staging');
      await cancelPromotion(client, next.workflowId);
      await waitFinished(client, next.workflowId);
      await save(client, 'environment-lock-abandoned-holder', environmentLockId(repo.url, 'staging'));
    },
  );

  for (const record of [
    recordNewHistories,
    recordLockHistories,
    recordProposalHistories,
    recordGuaranteeHistories,
    recordLockGuaranteeHistories,
    recordJanitorHistories,
    recordGovernanceHistories,
    recordReviewHistories,
    recordRoundTripHistories,
  ])
    await record(rec);
} finally {
  await temporal.teardown();
  appendToManifest(written, workflowIds);
  process.stdout.write(
    written.length ? `appended ${written.length} to MANIFEST.json\n` : 'nothing new to record\n',
  );
}
