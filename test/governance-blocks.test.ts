import { describe, expect, it } from '@jest/globals';
import { changeRules, readRules } from '../client/governance.js';
import { decide, getStatus, startPromotion, waitAccepted, waitFinished } from '../client/promotions.js';
import { GOVERNANCE_WORKFLOW_ID } from '../common/governance.js';
import type { PromotionRequest } from '../common/types.js';
import { blockUpdate } from '../common/governance-definitions.js';
import { promoteCli } from './support/cli.js';
import { TestRepo } from './support/repo.js';
import { DEV_AUTO_THEN_STAGING_HELD } from './support/environments.js';
import { useTemporal } from './support/suite.js';
import { envStatus } from './support/wait.js';

const suite = useTemporal();

function request(repo: TestRepo, tag: string): PromotionRequest {
  return { repo: repo.url, apps: [{ app: 'api', tag }], requestedBy: 'test' };
}

describe('blocked versions (issue 22, item 3)', () => {
  it('refuses a blocked tag at start (exit 2, nothing started), lists it, and lets it go once unblocked', async () => {
    const repo = await TestRepo.create();
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const cli = (args: string[]) => promoteCli(args, { address: suite.temporal.address, taskQueue });
      const blocked = await cli(['block', 'api=1.6.0', '--reason', 'memory leak', '--as', 'alice']);
      expect(blocked).toMatchObject({ code: 0, stdout: 'api=1.6.0 blocked' });

      const refused = await cli(['start', '--repo', repo.url, '--app', 'api=1.6.0']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('api=1.6.0 is blocked by alice: memory leak');
      expect(refused.stderr).toContain('nothing was started');
      const started = suite.temporal.client.workflow.list({
        query: `WorkflowType = 'promote' AND TaskQueue = '${taskQueue}'`,
      });
      for await (const execution of started) throw new Error(`started ${execution.workflowId}`);

      const list = await cli(['list', '--app', 'api']);
      expect(list.code).toBe(0);
      expect(list.stdout).toContain('blocked versions:');
      expect(list.stdout).toMatch(/api=1\.6\.0 {2}by alice at .*: memory leak/);

      // Who blocked and why is kept, and a second block of the same tag is refused as such.
      const again = await cli(['block', 'api=1.6.0', '--reason', 'still leaking']);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('api=1.6.0 is already blocked by alice');
      const noReason = await cli(['block', 'api=1.7.0', '--reason', ' ']);
      expect(noReason.code).toBe(2);

      const unblocked = await cli(['unblock', 'api=1.6.0', '--as', 'bob', '--reason', 'fixed in config']);
      expect(unblocked).toMatchObject({ code: 0, stdout: 'api=1.6.0 unblocked' });
      const rules = await readRules(suite.temporal.client);
      expect(rules.blocks).toEqual([]);
      expect(rules.changes.map((c) => [c.action, c.subject, c.by, c.reason])).toEqual([
        ['block', 'api=1.6.0', 'alice', 'memory leak'],
        ['unblock', 'api=1.6.0', 'bob', 'fixed in config'],
      ]);
      const twice = await cli(['unblock', 'api=1.6.0']);
      expect(twice.code).toBe(2);
      expect(twice.stderr).toContain('api=1.6.0 is not blocked');

      const now = await cli(['start', '--repo', repo.url, '--app', 'api=1.6.0', '--to', 'dev', '--wait']);
      expect(now.code).toBe(0);
    });
  });

  it('stops a promotion waiting for a proposal approval when its tag is blocked: the proposal is closed, status blocked', async () => {
    const repo = await TestRepo.create();
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const handle = await startPromotion(client, request(repo, '1.6.0'), { taskQueue });
      await waitAccepted(client, handle.workflowId);
      const waiting = await envStatus(client, handle.workflowId, 'staging', 'waiting-approval');
      const branch = waiting.environments[1]?.proposal?.branch ?? '';
      expect(await repo.branches()).toContain(branch);

      const cli = (args: string[]) => promoteCli(args, { address: suite.temporal.address, taskQueue });
      const blocked = await cli(['block', 'api=1.6.0', '--reason', 'memory leak', '--as', 'alice']);
      expect(blocked.code).toBe(0);
      expect(blocked.stdout).toContain(`stopping ${handle.workflowId}`);

      const final = await waitFinished(client, handle.workflowId);
      expect(final.status).toBe('blocked');
      expect(final.environments.map((e) => [e.name, e.status])).toEqual([
        ['dev', 'succeeded'],
        ['staging', 'blocked'],
        ['prod', 'pending'],
      ]);
      expect(final.environments[1]?.error).toBe('api=1.6.0 is blocked by alice: memory leak');
      expect(await repo.branches()).not.toContain(branch);
      const status = await cli(['status', handle.workflowId, '--json']);
      expect(JSON.parse(status.stdout)).toMatchObject({ status: 'blocked' });
      const listed = await cli(['list', '--state', 'blocked']);
      expect(listed.stdout).toContain(handle.workflowId);
    });
  });

  it('a promotion that missed the signal reads the block before it applies, and reverts its bump', async () => {
    const repo = await TestRepo.create({ environments: DEV_AUTO_THEN_STAGING_HELD });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const handle = await startPromotion(client, request(repo, '1.6.0'), { taskQueue });
      await envStatus(client, handle.workflowId, 'staging', 'waiting-approval');
      const before = await repo.file('environments/staging.yaml');
      // Blocked without telling the promotion (as when visibility had not listed it yet).
      await changeRules(
        client,
        blockUpdate,
        { app: 'api', tag: '1.6.0', by: 'alice', reason: 'memory leak' },
        { taskQueue },
      );
      const waiting = await getStatus(client, handle.workflowId);
      expect(waiting.environments[1]?.status).toBe('waiting-approval');
      await decide(client, handle.workflowId, { env: 'staging', approved: true, by: 'carol' });

      const final = await waitFinished(client, handle.workflowId);
      expect(final.status).toBe('blocked');
      const staging = final.environments[1];
      expect(staging?.status).toBe('blocked');
      expect(staging?.revertCommit).toBeDefined();
      // The bump was reverted and never applied.
      expect(await repo.live('staging')).toContain('tag: "1.4.0"');
      expect(await repo.file('environments/staging.yaml')).not.toContain('tag: "1.6.0"');
      expect(before).toContain('tag: "1.6.0"');
    });
  });

  it('a promotion started around the CLI is stopped before its first environment', async () => {
    const repo = await TestRepo.create();
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      await changeRules(
        client,
        blockUpdate,
        { app: 'api', tag: '1.6.0', by: 'alice', reason: 'memory leak' },
        { taskQueue },
      );
      const handle = await startPromotion(client, request(repo, '1.6.0'), { taskQueue });
      const final = await waitFinished(client, handle.workflowId);
      expect(final.status).toBe('blocked');
      expect(final.environments.map((e) => e.status)).toEqual(['blocked', 'pending', 'pending']);
      expect(await repo.file('environments/dev.yaml')).toContain('tag: "1.4.0"');
      const overview = await promoteCli(['overview', '--repo', repo.url], {
        address: suite.temporal.address,
        taskQueue,
      });
      expect(overview.stdout).toContain('blocked versions:');
      expect(overview.stdout).toContain('api=1.6.0');
      const governance = await client.workflow.getHandle(GOVERNANCE_WORKFLOW_ID).describe();
      expect(governance.status.name).toBe('RUNNING');
    });
  });
});
