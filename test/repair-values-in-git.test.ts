import { describe, expect, it } from '@jest/globals';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startPromotion, waitFinished } from '../client/promotions.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';

/**
 * A holder terminated mid-apply leaves its bump in Git (the lock keeps a bump whose apply started) and
 * the cluster on the old tag. The same request run again finds its values already in Git: it must ask
 * the deployer what runs and apply, not report `skipped` with the cluster still behind.
 */
const suite = useTemporal();

describe('a holder terminated mid-apply', () => {
  it('is repaired by the same request run again: the cluster ends on the new tag', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    const request = { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }] };
    const client = suite.temporal.client;
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      // A first promotion, so the cluster runs (and its status reports) a commit Promote deployed.
      const before = await startPromotion(
        client,
        { ...request, apps: [{ app: 'api', tag: '1.4.9' }] },
        { taskQueue },
      );
      expect((await waitFinished(client, before.workflowId)).status).toBe('succeeded');
      expect(await repo.live('dev')).toContain('tag: "1.4.9"');

      // A slow apply, so the promotion can be terminated while it runs.
      await writeFile(join(repo.cluster, 'slow-apply'), '30');
      const first = await startPromotion(client, request, { taskQueue });
      await eventually('the apply to start', async () =>
        (await repo.deployLog()).filter((l) => / start dev /.test(l)).length === 2 ? true : undefined,
      );
      await client.workflow.getHandle(first.workflowId).terminate('operator terminated it mid-apply');
      await eventually('the apply to end', async () =>
        (await repo.deployLog()).some((l) => / terminated dev /.test(l)) ? true : undefined,
      );
      expect(await repo.file('environments/dev.yaml')).toContain('tag: "1.5.0"');
      expect(await repo.live('dev')).toContain('tag: "1.4.9"');

      await rm(join(repo.cluster, 'slow-apply'));
      const again = await startPromotion(client, request, { taskQueue });
      expect(again.workflowId).toBe(first.workflowId);
      const final = await waitFinished(client, again.workflowId);
      const dev = final.environments.find((e) => e.name === 'dev');
      expect(dev?.status).toBe('succeeded');
      expect(dev?.reapplied).toMatch(/values already in Git; the cluster ran [0-9a-f]{12}: applied/);
      expect(await repo.live('dev')).toContain('tag: "1.5.0"');
    });
  });
});
