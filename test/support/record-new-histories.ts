// The histories added for issue 6, recorded from the workflow code as it was before that fixes:
// the fixes must keep exactly these runs replayable. Each scenario runs only when its file is missing.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import protos from '@temporalio/proto';
import { cancelPromotion, startPromotion, waitFinished, waitForApproval } from '../../client/promotions.js';
import { environmentLockId, repositoryKey } from '../../common/ids.js';
import type { PromotionRequest } from '../../common/types.js';
import { decideSignal } from '../../common/definitions.js';
import {
  approveToEnd,
  finished,
  type Missing,
  type Recorder,
  type RepoOptions,
  type Save,
} from './record-scenario.js';
import { TestRepo } from './repo.js';
import { suggestContinueAsNewAfter, TestTemporal } from './temporal.js';
import { startTimeSkippingServer, withTimeSkippingWorker } from './time-skipping-server.js';
import { envStatus, eventually } from './wait.js';
import { startTagPromotion } from './requests.js';

const staging = [{ name: 'staging', approval: 'manual' as const }];
const devAndStaging = [
  { name: 'dev', approval: 'auto' as const },
  { name: 'staging', approval: 'manual' as const },
];

export async function recordNewHistories({
  temporal,
  client,
  save,
  missing,
  savingOne,
}: Recorder): Promise<void> {
  const start = (repo: TestRepo, taskQueue: string, request: Omit<PromotionRequest, 'repo'>) =>
    startPromotion(client, { repo: repo.url, ...request }, { taskQueue });

  // Still waiting: the history ends mid-run, as a run in flight during a deploy of new workflow code.
  await savingOne('promote-waiting-for-approval', {}, async (repo, taskQueue) => {
    const h = await start(repo, taskQueue, { apps: [{ app: 'api', tag: '1.5.0' }] });
    await waitForApproval(client, h.workflowId, 'staging');
    return h.workflowId;
  });

  // A webhook's decision: the decideSignal instead of the update.
  await savingOne('promote-decided-by-signal', { environments: staging }, async (repo, taskQueue) => {
    const h = await start(repo, taskQueue, { apps: [{ app: 'api', tag: '1.5.0' }] });
    const waiting = await waitForApproval(client, h.workflowId, 'staging');
    // A proposing environment's approval names the proposal commit (refused without it since issue 18).
    const commit = waiting.environments.find((e) => e.name === 'staging')?.commit;
    await client.workflow.getHandle(h.workflowId).signal(decideSignal, {
      env: 'staging',
      approved: true,
      by: 'carol',
      comment: 'via webhook',
      ...(commit ? { commit } : {}),
    });
    return finished(client, h.workflowId);
  });

  // A rollback of dev to the tag it ran before the promotion just made.
  await savingOne(
    'promote-rollback',
    { environments: [{ name: 'dev', approval: 'auto' }] },
    async (repo, taskQueue) => {
      const first = await start(repo, taskQueue, { apps: [{ app: 'api', tag: '1.5.0' }] });
      await waitFinished(client, first.workflowId);
      const h = await start(repo, taskQueue, { apps: [], rollback: { env: 'dev', app: 'api' } });
      return finished(client, h.workflowId);
    },
  );

  // `--only staging`, its requirement (dev runs the tags) met by an earlier promotion.
  await savingOne('promote-only', { environments: devAndStaging }, async (repo, taskQueue) => {
    const toDev = await start(repo, taskQueue, { apps: [{ app: 'api', tag: '1.5.0' }], to: 'dev' });
    await waitFinished(client, toDev.workflowId);
    const h = await start(repo, taskQueue, { apps: [{ app: 'api', tag: '1.5.0' }], only: 'staging' });
    return approveToEnd(client, h.workflowId, 'staging');
  });

  // Cancelled while queued behind another promotion (of another app, so no supersede).
  await savingOne('promote-cancelled-while-queued', { environments: staging }, async (repo, taskQueue) => {
    const holder = await start(repo, taskQueue, { apps: [{ app: 'api', tag: '1.5.0' }] });
    await waitForApproval(client, holder.workflowId, 'staging');
    const h = await start(repo, taskQueue, { apps: [{ app: 'web', tag: '2.1.0' }] });
    await envStatus(client, h.workflowId, 'staging', 'queued');
    await cancelPromotion(client, h.workflowId);
    await waitFinished(client, h.workflowId);
    await cancelPromotion(client, holder.workflowId);
    await waitFinished(client, holder.workflowId);
    return h.workflowId;
  });

  // Cancelled while the deploy command applies: SIGTERM, compensation, rollback.
  await savingOne(
    'promote-cancelled-during-apply',
    { environments: [{ name: 'dev', approval: 'auto' }] },
    async (repo, taskQueue) => {
      await writeFile(join(repo.cluster, 'slow-apply'), '60');
      const h = await start(repo, taskQueue, { apps: [{ app: 'api', tag: '1.5.0' }] });
      await envStatus(client, h.workflowId, 'dev', 'applying');
      await eventually('apply to start', async () =>
        (await repo.deployLog()).length > 0 ? true : undefined,
      );
      await cancelPromotion(client, h.workflowId);
      return finished(client, h.workflowId);
    },
  );

  await recordLockAcrossContinueAsNew(save, missing, staging, {
    first: 'environment-lock-continued-as-new',
    last: 'environment-lock-after-continue-as-new',
  });
  if (missing('promote-approval-timed-out')) await recordApprovalTimeout(save, temporal.bundle);
}

/**
 * The lock continues-as-new when the server suggests it. A dev server told to suggest it after 40 events
 * (a server setting, not a workflow change) makes the lock do so while it has a holder and a waiter, so
 * both cross into the new run. Saved, when either is missing: the first run (ending in continue-as-new)
 * under `names.first`, the last one under `names.last`.
 */
export async function recordLockAcrossContinueAsNew(
  save: Save,
  missing: Missing,
  environments: NonNullable<RepoOptions>['environments'],
  names: { first: string; last: string },
): Promise<void> {
  if (!missing(names.first) && !missing(names.last)) return;
  const temporal = await TestTemporal.start(suggestContinueAsNewAfter(40));
  const client = temporal.client;
  const repo = await TestRepo.create({ environments });
  try {
    await temporal.withWorker(async ({ taskQueue }) => {
      const holder = await startTagPromotion(client, taskQueue, repo);
      await waitForApproval(client, holder.workflowId, 'staging');
      const waiter = await startTagPromotion(client, taskQueue, repo, { app: 'web', tag: '2.1.0' });
      await envStatus(client, waiter.workflowId, 'staging', 'queued');
      const lockId = environmentLockId(repositoryKey(repo.url), 'staging');
      // The waiter makes the lock check its holder every lease (1s): its history grows past 40 events.
      const firstRun = await eventually('the lock to continue as new', async () => {
        const runs = await lockRuns(client, lockId);
        return runs.length > 1 ? runs[0] : undefined;
      });
      for (const id of [holder.workflowId, waiter.workflowId]) await approveToEnd(client, id, 'staging');
      await save(client, names.first, lockId, firstRun);
      const runs = await lockRuns(client, lockId);
      await save(client, names.last, lockId, runs[runs.length - 1]);
    });
  } finally {
    await repo.remove();
    await temporal.teardown();
  }
}

/** The run ids of one lock workflow, first to last, followed through each run's continued-from link. */
export async function lockRuns(client: Client, workflowId: string): Promise<string[]> {
  const runs: string[] = [];
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    runs.unshift(runId);
    const history: protos.temporal.api.history.v1.IHistory = await client.workflow
      .getHandle(workflowId, runId)
      .fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    runId = started?.continuedExecutionRunId || undefined;
  }
  return runs;
}

/** An approval nobody gives, on the time-skipping test server: the 72h timer fires, the bump is reverted. */
async function recordApprovalTimeout(save: Save, temporalBundle: TestTemporal['bundle']): Promise<void> {
  const env = await startTimeSkippingServer();
  const repo = await TestRepo.create({ environments: [{ name: 'prod', approval: 'manual' }] });
  try {
    await withTimeSkippingWorker(env, temporalBundle, 'timeouts', async () => {
      const h = await startTagPromotion(env.client, 'timeouts', repo);
      await waitForApproval(env.client, h.workflowId, 'prod');
      await h.result().catch(() => undefined);
      await save(env.client, 'promote-approval-timed-out', h.workflowId);
    });
  } finally {
    await repo.remove();
    await env.teardown();
  }
}
