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
  decide,
  startPromotion,
  waitFinished,
  waitForApproval,
  cancelPromotion,
} from '../../client/promotions.js';
import { environmentLockId } from '../../common/ids.js';
import { TestRepo } from './repo.js';
import { TestTemporal } from './temporal.js';
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

function startApi(repo: TestRepo, taskQueue: string, tag: string) {
  return startPromotion(temporal.client, { repo: repo.url, apps: [{ app: 'api', tag }] }, { taskQueue });
}
/** Waits for the promotion `h` to end; its id, which names the history a scenario records. */
async function finished(h: { workflowId: string }): Promise<string> {
  await waitFinished(temporal.client, h.workflowId);
  return h.workflowId;
}
await mkdir(out, { recursive: true });
try {
  const scenarios: [string, (repo: TestRepo, taskQueue: string) => Promise<string>][] = [
    [
      'promote-happy-path',
      async (repo, taskQueue) => {
        const h = await startPromotion(
          temporal.client,
          {
            repo: repo.url,
            apps: [
              { app: 'api', tag: '1.5.0' },
              { app: 'web', tag: '2.1.0' },
            ],
          },
          { taskQueue },
        );
        for (const [env, by] of [
          ['staging', 'carol'],
          ['prod', 'alice'],
        ] as const) {
          await waitForApproval(temporal.client, h.workflowId, env);
          await decide(temporal.client, h.workflowId, { env, approved: true, by });
        }
        return finished(h);
      },
    ],
    [
      'promote-rejected',
      async (repo, taskQueue) => {
        const h = await startApi(repo, taskQueue, '1.5.0');
        await waitForApproval(temporal.client, h.workflowId, 'staging');
        await decide(temporal.client, h.workflowId, {
          env: 'staging',
          approved: false,
          by: 'carol',
          comment: 'freeze',
        });
        return finished(h);
      },
    ],
    [
      'promote-failed-apply-compensated',
      async (repo, taskQueue) => {
        await repo.failApply('dev', 'cluster unreachable');
        const h = await startApi(repo, taskQueue, '1.5.0');
        return finished(h);
      },
    ],
    [
      'promote-cancelled-while-waiting',
      async (repo, taskQueue) => {
        const h = await startApi(repo, taskQueue, '1.5.0');
        await waitForApproval(temporal.client, h.workflowId, 'staging');
        await cancelPromotion(temporal.client, h.workflowId);
        return finished(h);
      },
    ],
    [
      'promote-superseded',
      async (repo, taskQueue) => {
        const older = await startApi(repo, taskQueue, '1.5.0');
        await waitForApproval(temporal.client, older.workflowId, 'staging');
        const newer = await startApi(repo, taskQueue, '1.6.0');
        await waitFinished(temporal.client, older.workflowId);
        await envStatus(temporal.client, newer.workflowId, 'staging', 'waiting-approval');
        await cancelPromotion(temporal.client, newer.workflowId);
        await waitFinished(temporal.client, newer.workflowId);
        await save(temporal.client, 'environment-lock', environmentLockId(repo.url, 'staging'));
        return older.workflowId;
      },
    ],
  ];
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
    const h = await startTagPromotion(temporal.client, 'record-resume', repo);
    await envStatus(temporal.client, h.workflowId, 'dev', 'applying');
    await eventually('apply to start', async () => ((await repo.deployLog()).length > 0 ? true : undefined));
    await first.kill();
    await repo.killApply();
    const second = await WorkerProcess.start(env(2));
    await waitFinished(temporal.client, h.workflowId);
    await save(temporal.client, 'promote-resumed-after-worker-kill', h.workflowId);
    await second.stop();
    await repo.remove();
    await rm(cache, { recursive: true, force: true });
  }

  // A holder terminated while holding: the lock reverts its bump and hands the environment on.
  if (missing('environment-lock-abandoned-holder')) {
    const repo = await TestRepo.create({ environments: [{ name: 'staging', approval: 'manual' }] });
    await temporal.withWorker(async ({ taskQueue }) => {
      const stuck = await startApi(repo, taskQueue, '1.5.0');
      await waitForApproval(temporal.client, stuck.workflowId, 'staging');
      const next = await startTagPromotion(temporal.client, taskQueue, repo, { app: 'web', tag: '2.1.0' });
      await envStatus(temporal.client, next.workflowId, 'staging', 'queued');
      await stuck.terminate('recording an abandoned holder');
      await waitForApproval(temporal.client, next.workflowId, 'staging');
      await cancelPromotion(temporal.client, next.workflowId);
      await waitFinished(temporal.client, next.workflowId);
    });
    await save(temporal.client, 'environment-lock-abandoned-holder', environmentLockId(repo.url, 'staging'));
    await repo.remove();
  }

  for (const [name, run] of scenarios) {
    if (!missing(name) && (name !== 'promote-superseded' || !missing('environment-lock'))) continue;
    const repo = await TestRepo.create();
    try {
      const id = await temporal.withWorker(({ taskQueue }) => run(repo, taskQueue));
      await save(temporal.client, name, id);
    } finally {
      await repo.remove();
    }
  }

  await recordNewHistories(temporal, save, missing);
  await recordLockHistories(temporal, save, missing);
  await recordProposalHistories(temporal, save, missing);
  await recordGuaranteeHistories(temporal, save, missing);
  await recordLockGuaranteeHistories(temporal, save, missing);
  await recordJanitorHistories(temporal, save, missing);
  await recordGovernanceHistories(temporal, save, missing);
  await recordReviewHistories(temporal, save, missing);
  await recordRoundTripHistories(temporal, save, missing);
} finally {
  await temporal.teardown();
  appendToManifest(written, workflowIds);
  process.stdout.write(
    written.length ? `appended ${written.length} to MANIFEST.json\n` : 'nothing new to record\n',
  );
}
