import { describe, expect, it } from '@jest/globals';
import { decide, waitFinished, waitForApproval } from '../client/promotions.js';
import { environmentLockId, repositoryKey } from '../common/ids.js';
import { lockRequestSignal } from '../common/definitions.js';
import { TestRepo } from './support/repo.js';
import { DEV_AUTO_THEN_STAGING_HELD } from './support/environments.js';
import { useTemporal } from './support/suite.js';
import { envStatus } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';
import { approveToSuccess } from './support/approve.js';
import { expectLiveAsCommitted } from './support/live.js';

/**
 * Lock requests are re-asserted and retried, so a copy of one can arrive after its run released the
 * environment (an activity attempt that timed out but still sent its signal). Such a copy is stale: it
 * must neither make the run a holder again (blocking everyone behind a run that moved on) nor lead the
 * lock to revert that run's deployed bump once the run ends.
 */
const suite = useTemporal();

describe('a late copy of a released run’s lock request', () => {
  it('never makes that run a holder again', async () => {
    const repo = await TestRepo.create({ environments: DEV_AUTO_THEN_STAGING_HELD });
    const client = suite.temporal.client;
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const first = await startTagPromotion(client, taskQueue, repo);
      // Dev is deployed and released; the promotion now waits in staging.
      await waitForApproval(client, first.workflowId, 'staging');
      await client.workflow
        .getHandle(environmentLockId(repositoryKey(repo.url), 'dev'))
        .signal(lockRequestSignal, {
          holder: first.workflowId,
          run: first.firstExecutionRunId,
          apps: ['api'],
          branch: 'main',
          valuesFile: 'environments/dev.yaml',
        });

      // Another promotion passes dev at once (today it queues behind the stale copy until `first` ends).
      const next = await startTagPromotion(client, taskQueue, repo, { app: 'web', tag: '2.1.0' });
      const queued = await envStatus(client, next.workflowId, 'staging', 'queued');
      expect(queued.environments.find((e) => e.name === 'dev')?.status).toBe('succeeded');

      await decide(client, first.workflowId, { env: 'staging', approved: true, by: 'carol' });
      expect((await waitFinished(client, first.workflowId)).status).toBe('succeeded');
      await approveToSuccess(client, next.workflowId, 'staging', 'carol');

      // Nothing reverted: both promotions' bumps stand, in dev as in staging, and the cluster runs them.
      const subjects = (await repo.commits()).map((c) => c.subject);
      expect(subjects.filter((s) => s.startsWith('revert'))).toEqual([]);
      for (const env of ['dev', 'staging']) await expectLiveAsCommitted(repo, env, ['1.5.0', '2.1.0']);
    });
  });
});
