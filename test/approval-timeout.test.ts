import { describe, expect, it } from '@jest/globals';
import { getStatus, waitForApproval } from '../client/promotions.js';
import { TestRepo } from './support/repo.js';
import { useTimeSkipping } from './support/time-skipping.js';
import { startTagPromotion } from './support/requests.js';

/**
 * Approval timeouts are days long: the time-skipping test server (the project's own binary from
 * PyPI) jumps over them instead of waiting.
 */
const time = useTimeSkipping();

describe('an approval nobody gives', () => {
  it('fails the promotion after approvalTimeout and deletes its proposal', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'prod', approval: 'manual' }] });
    const before = (await repo.commits()).map((c) => c.subject);
    try {
      await time.withWorker('timeouts', async () => {
        const handle = await startTagPromotion(time.env.client, 'timeouts', repo);
        await waitForApproval(time.env.client, handle.workflowId, 'prod');
        const waitedFrom = await time.env.currentTimeMs();
        // Awaiting the result lets the server skip ahead to the 72h approval timer.
        await expect(handle.result()).rejects.toThrow();
        expect((await time.env.currentTimeMs()) - waitedFrom).toBeGreaterThanOrEqual(72 * 3_600_000);

        const final = await getStatus(time.env.client, handle.workflowId);
        expect(final.status).toBe('failed');
        expect(final.error).toBe('prod: approval timed out');
        // The bump was only proposed: the deployment branch never saw it, and the proposal is deleted.
        expect(final.environments[0]).toMatchObject({ status: 'failed', error: 'approval timed out' });
        expect((await repo.commits()).map((c) => c.subject)).toEqual(before);
        expect(await repo.file('environments/prod.yaml')).toContain('tag: "1.4.0"');
        expect(await repo.branches()).toEqual(['main']);
      });
    } finally {
      await repo.remove();
    }
  });
});
