import { describe, expect, it } from '@jest/globals';
import { decide, getStatus, waitFinished, waitForApproval } from '../client/promotions.js';
import { TestRepo } from './support/repo.js';
import { resetWorkflow } from './support/reset.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';
import { approveToSuccess } from './support/approve.js';

/**
 * `temporal workflow reset` gives a promotion a new run id. Its saga (lock requests, releases, apply
 * notices, commit trailers) must stay the promotion's own: the lock must not take the reset run for a
 * stranger, nor the old run for one that died holding the environment.
 */
const suite = useTemporal();
const MANUAL = { approval: 'manual', proposals: false } as const;
const AUTO = { approval: 'auto' } as const;

describe('a promotion reset while it holds the environment', () => {
  it('keeps its identity: its own release frees the lock and its deployed bump stays', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    const client = suite.temporal.client;
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const start = (app: string, tag: string) => startTagPromotion(client, taskQueue, repo, { app, tag });
      const first = await start('api', '1.5.0');
      await waitForApproval(client, first.workflowId, 'staging');

      const reset = await resetWorkflow(suite.temporal, first.workflowId, 'LastWorkflowTask');
      // What the saga is named by: a reset run has a new run id, but keeps the first execution's.
      const described = await client.workflow.getHandle(first.workflowId).describe();
      expect(reset).not.toBe(first.firstExecutionRunId);
      expect(described.raw.workflowExecutionInfo?.firstRunId).toBe(first.firstExecutionRunId);
      await decide(client, first.workflowId, { env: 'staging', approved: true, by: 'carol' });
      expect((await waitFinished(client, first.workflowId)).status).toBe('succeeded');
      expect(await repo.live('staging')).toContain('tag: "1.5.0"');

      // The next promotion gets the environment from a lock that saw the first one's release.
      const next = await start('web', '2.1.0');
      await approveToSuccess(client, next.workflowId, 'staging', 'carol');

      // The approved, deployed bump was never reverted by a lock that thought its holder had died.
      expect((await repo.commits()).map((c) => c.subject).slice(0, 2)).toEqual([
        'feat(staging): update web to 2.1.0',
        'feat(staging): update api to 1.5.0',
      ]);
      expect(await repo.live('staging')).toContain('tag: "1.5.0"');
    });
  });
});

describe('a promotion reset to its start after it deployed an environment', () => {
  it('finds its own bump again: the environment is its own success, not skipped as already running', async () => {
    const repo = await TestRepo.create({
      environments: [
        { name: 'staging', ...AUTO },
        { name: 'prod', ...MANUAL },
      ],
    });
    const client = suite.temporal.client;
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const promotion = await startTagPromotion(client, taskQueue, repo);
      const before = await waitForApproval(client, promotion.workflowId, 'prod');
      const deployed = before.environments.find((e) => e.name === 'staging');
      expect(deployed?.status).toBe('succeeded');

      await resetWorkflow(suite.temporal, promotion.workflowId, 'FirstWorkflowTask');
      const again = await eventually('the reset run to wait for prod again', async () => {
        const state = await getStatus(client, promotion.workflowId);
        const prod = state.environments.find((e) => e.name === 'prod')?.status;
        return prod === 'waiting-approval' || state.status !== 'running' ? state : undefined;
      });
      const staging = again.environments.find((e) => e.name === 'staging');
      expect(staging?.status).toBe('succeeded');
      expect(staging?.commit).toBe(deployed?.commit);

      await decide(client, promotion.workflowId, { env: 'prod', approved: true, by: 'alice' });
      expect((await waitFinished(client, promotion.workflowId)).status).toBe('succeeded');
      // One bump per environment: the reset run reused its own commits.
      expect((await repo.commits()).map((c) => c.subject).slice(0, 3)).toEqual([
        'feat(prod): update api to 1.5.0',
        'feat(staging): update api to 1.5.0',
        expect.not.stringMatching(/api to 1\.5\.0/),
      ]);
    });
  });
});
