import { describe, expect, it } from '@jest/globals';
import { waitFinished, waitForApproval } from '../client/promotions.js';
import type { Notifier } from '../activities/notifier.js';
import { PromoteState } from '../common/search-attributes.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { startTagPromotion } from './support/requests.js';
import { DEV_THEN_STAGING_AUTO } from './support/environments.js';
import { rejectToEnd } from './support/approve.js';

const suite = useTemporal();

/** Slack (or any channel) being down: every announcement fails. */
const failingNotifier: Notifier = {
  announce: () => Promise.reject(new Error('chat.postMessage: service unavailable')),
};

async function promoteState(id: string): Promise<unknown> {
  const description = await suite.temporal.client.workflow.getHandle(id).describe();
  return description.typedSearchAttributes.get(PromoteState);
}

describe('a notifier that fails', () => {
  it('never reverts or rolls back a deployment that succeeded', async () => {
    const repo = await TestRepo.create({
      environments: DEV_THEN_STAGING_AUTO,
    });
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const handle = await startTagPromotion(suite.temporal.client, taskQueue, repo);
        const final = await waitFinished(suite.temporal.client, handle.workflowId);

        expect(final.status).toBe('succeeded');
        expect(final.environments.map((e) => e.status)).toEqual(['succeeded', 'succeeded']);
        expect(final.environments.every((e) => !e.revertCommit && !e.rolledBack)).toBe(true);
        expect((await repo.commits()).map((c) => c.subject).slice(0, 2)).toEqual([
          'feat(staging): update api to 1.5.0',
          'feat(dev): update api to 1.5.0',
        ]);
        expect(await repo.live('staging')).toContain('tag: "1.5.0"');
        expect((await repo.deployLog()).some((line) => line.includes('rollback'))).toBe(false);
        // Which announcement did not go out, and why.
        expect(final.undelivered).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              env: 'dev',
              event: 'deployed',
              error: expect.stringContaining('service unavailable'),
            }),
            expect.objectContaining({ env: 'staging', event: 'deployed' }),
          ]),
        );
        expect(await promoteState(handle.workflowId)).toBe('succeeded');
      },
      { notifier: failingNotifier },
    );
  });

  it('lets a rejected promotion end as rejected, not stuck running', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'staging', approval: 'manual' }] });
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const { client } = suite.temporal;
        const handle = await startTagPromotion(client, taskQueue, repo);
        await waitForApproval(client, handle.workflowId, 'staging');
        const final = await rejectToEnd(client, handle.workflowId, 'staging', 'carol', 'not today');

        expect(final.status).toBe('rejected');
        expect(final.environments[0]?.status).toBe('rejected');
        // A rejected proposal never reached the branch: nothing to revert.
        expect(final.environments[0]?.revertCommit).toBeUndefined();
        expect(final.environments[0]?.proposal?.phase).toBe('dropped');
        expect(final.undelivered).toEqual(
          expect.arrayContaining([expect.objectContaining({ env: 'staging', event: 'rejected' })]),
        );
        expect(await promoteState(handle.workflowId)).toBe('rejected');
      },
      { notifier: failingNotifier },
    );
  });
});
