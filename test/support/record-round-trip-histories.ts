// Histories of runs in fewer round trips (issue 21 item 2): a held environment's bump and diff in one
// activity (patch `bump-and-diff`), promote.yaml and the governance gate read as local activities
// (patch `local-reads`). Each scenario runs only when its file is missing (histories are append-only).
import { startPromotion, waitFinished } from '../../client/promotions.js';
import { approveToEnd, type Recorder } from './record-scenario.js';
import { decide, waitForApproval } from '../../client/promotions.js';
import { lockIdOf } from './locks.js';
import { holderThenQueued } from './requests.js';

export async function recordRoundTripHistories({ client, saving, savingOne }: Recorder): Promise<void> {
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
      await approveToEnd(client, h.workflowId, 'staging');
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
