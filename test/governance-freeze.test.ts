import { describe, expect, it } from '@jest/globals';
import { decide, startPromotion, waitFinished } from '../client/promotions.js';
import type { PromotionRequest } from '../common/types.js';
import { cliOn, flags } from './support/cli.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { envStatus } from './support/wait.js';

const suite = useTemporal();

const ENVIRONMENTS = [
  { name: 'dev', approval: 'auto' as const },
  { name: 'staging', approval: 'manual' as const, proposals: false },
];

function request(repo: TestRepo, tag: string): PromotionRequest {
  return { repo: repo.url, apps: [{ app: 'api', tag }], requestedBy: 'test' };
}

describe('ad-hoc freezes and window overrides (issue 22, item 1)', () => {
  it('holds an approved promotion at a frozen environment, releases it on unfreeze, and records an override', async () => {
    const repo = await TestRepo.create({ environments: ENVIRONMENTS });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const cli = cliOn(suite.temporal.address, taskQueue);

      // Approval inside the window, then a freeze: the apply waits (it is checked right before the apply).
      const first = await startPromotion(client, request(repo, '1.5.0'), { taskQueue });
      await envStatus(client, first.workflowId, 'staging', 'waiting-approval');
      const frozen = await cli([
        'freeze',
        '--env',
        'staging',
        '--until',
        '2h',
        '--reason',
        'sale freeze',
        '--as',
        'alice',
      ]);
      expect(frozen.code).toBe(0);
      expect(frozen.stdout).toMatch(/^staging frozen until \d{4}-/);
      const bad = await cli(['freeze', '--env', 'staging', '--until', 'tomorrow', '--reason', 'x']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--until must be an ISO time');
      await decide(client, first.workflowId, { env: 'staging', approved: true, by: 'carol' });
      const waiting = await envStatus(client, first.workflowId, 'staging', 'waiting-window');
      expect(waiting.status).toBe('waiting-window');
      expect(waiting.environments[1]?.window?.details).toMatch(/^staging closed until .* UTC — sale freeze$/);
      expect(await repo.live('staging')).toContain('tag: "1.4.0"');
      const status = await cli(['status', first.workflowId]);
      expect(status.stdout).toContain('staging closed until');
      const listed = await cli(['list', '--state', 'waiting-window']);
      expect(listed.stdout).toContain(first.workflowId);
      expect(listed.stdout).toContain('freezes (promote freeze):');

      const unfrozen = await cli(['unfreeze', '--env', 'staging', '--as', 'alice', '--reason', 'sale over']);
      expect(unfrozen).toMatchObject({ code: 0, stdout: 'staging unfrozen' });
      const done = await waitFinished(client, first.workflowId);
      expect(done.status).toBe('succeeded');
      expect(await repo.live('staging')).toContain('tag: "1.5.0"');

      // Frozen again: an approver overrides, with a reason, and the promotion deploys now.
      expect(
        (await cli(['freeze', '--env', 'staging', '--until', '3h', '--reason', 'sale freeze'])).code,
      ).toBe(0);
      const second = await startPromotion(client, request(repo, '1.6.0'), { taskQueue });
      await envStatus(client, second.workflowId, 'staging', 'waiting-window');
      const noReason = await cli(['approve', second.workflowId, '--env', 'staging', '--override-window']);
      expect(noReason.code).toBe(2);
      const override = await cli([
        'approve',
        second.workflowId,
        ...flags({ env: 'staging', 'override-window': true, reason: 'hotfix for the checkout', as: 'dave' }),
      ]);
      expect(override.code).toBe(0);
      expect(override.stdout).toContain('staging: window overridden by dave');
      // Not approved yet: the override only lets it through the window; the approval is still asked.
      await envStatus(client, second.workflowId, 'staging', 'waiting-approval');
      await decide(client, second.workflowId, { env: 'staging', approved: true, by: 'carol' });
      const overridden = await waitFinished(client, second.workflowId);
      expect(overridden.status).toBe('succeeded');
      expect(overridden.windowOverrides).toEqual([
        expect.objectContaining({ env: 'staging', by: 'dave', reason: 'hotfix for the checkout' }),
      ]);
      const audit = await cli(['audit', second.workflowId]);
      expect(audit.stdout).toMatch(/window overridden by dave \("hotfix for the checkout"\)/);
    });
  });
});
