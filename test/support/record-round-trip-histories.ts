// Histories of runs in fewer round trips (issue 21 item 2): a held environment's bump and diff in one
// activity (patch `bump-and-diff`), promote.yaml and the governance gate read as local activities
// (patch `local-reads`). Each scenario runs only when its file is missing (histories are append-only).
import { decide, startPromotion, waitFinished, waitForApproval } from '../../client/promotions.js';
import { lockIdOf } from './locks.js';
import { scenarioRunner, type Missing, type Save } from './record-scenario.js';
import { holderThenQueued } from './requests.js';
import type { TestTemporal } from './temporal.js';

export async function recordRoundTripHistories(
  temporal: TestTemporal,
  save: Save,
  missing: Missing,
): Promise<void> {
  const client = temporal.client;

  const { saving, savingOne } = scenarioRunner(temporal, save, missing);

  // dev automatic, staging manual without proposals: both held, each bumped and diffed in one activity.
  await savingOne(
    'promote-bumped-and-diffed',
    {
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'staging', approval: 'manual', proposals: false },
      ],
    },
    async (repo, taskQueue) => {
      const h = await startPromotion(
        client,
        { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }] },
        { taskQueue },
      );
      await waitForApproval(client, h.workflowId, 'staging');
      await decide(client, h.workflowId, { env: 'staging', approved: true, by: 'carol' });
      await waitFinished(client, h.workflowId);
      return h.workflowId;
    },
  );

  // The diff fails inside the activity that bumped: the bump, found by its trailers, is reverted.
  await savingOne(
    'promote-diff-failed-after-bump',
    { environments: [{ name: 'dev', approval: 'auto' }] },
    async (repo, taskQueue) => {
      await repo.deployWithFailingDiff();
      const h = await startPromotion(
        client,
        { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }] },
        { taskQueue },
      );
      await waitFinished(client, h.workflowId);
      return h.workflowId;
    },
  );

  // Lock requests by update (patch `lock-granted-in-request`): the first promotion is granted dev and
  // staging in its requests' answers; the second queues behind it in staging and is granted by signal
  // once the first released. Saved: both promotions and the staging lock (updates, then a signal).
  await saving(
    [
      'promote-lock-granted-in-request',
      'promote-lock-queued-by-update',
      'environment-lock-granted-in-request',
    ],
    {
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'staging', approval: 'manual', proposals: false },
      ],
    },
    async (repo, taskQueue) => {
      const holder = { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }] };
      const { first, second } = await holderThenQueued(client, taskQueue, holder);
      await decide(client, first.workflowId, { env: 'staging', approved: true, by: 'carol' });
      await waitFinished(client, first.workflowId);
      await waitForApproval(client, second.workflowId, 'staging');
      await decide(client, second.workflowId, { env: 'staging', approved: true, by: 'carol' });
      await waitFinished(client, second.workflowId);
      return {
        'promote-lock-granted-in-request': first.workflowId,
        'promote-lock-queued-by-update': second.workflowId,
        'environment-lock-granted-in-request': lockIdOf(repo, 'staging'),
      };
    },
  );
}
