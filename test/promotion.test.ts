import { describe, expect, it } from '@jest/globals';
import {
  decide,
  getStatus,
  startPromotion,
  waitAccepted,
  waitFinished,
  waitForApproval,
} from '../client/promotions.js';
import type { PromotionRequest } from '../common/types.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { promotionRequest } from './support/requests.js';
import { approveToEnd, rejectToEnd } from './support/approve.js';

const suite = useTemporal();
let repo: TestRepo;

const request = (overrides: Partial<PromotionRequest> = {}) => promotionRequest(repo, overrides);

describe('a promotion through dev → staging → prod', () => {
  it('commits, diffs, waits for approval and applies each environment in order', async () => {
    repo = await TestRepo.create();
    await suite.temporal.withWorker(async ({ taskQueue, announcements }) => {
      const handle = await startPromotion(
        suite.temporal.client,
        request({
          apps: [
            {
              app: 'api',
              tag: '1.5.0',
              source: { repo: 'https://git.example.com/shop/api', ref: '9f3e2c1' },
            },
            { app: 'web', tag: '2.1.0' },
          ],
        }),
        { taskQueue },
      );
      await waitAccepted(suite.temporal.client, handle.workflowId);

      const waiting = await waitForApproval(suite.temporal.client, handle.workflowId, 'staging');
      // dev is automatic and already live; staging is diffed and waits; prod has not started.
      expect(waiting.environments.map((e) => [e.name, e.status])).toEqual([
        ['dev', 'succeeded'],
        ['staging', 'waiting-approval'],
        ['prod', 'pending'],
      ]);
      expect(waiting.environments[1]?.diff).toContain('+    tag: "1.5.0"');
      expect(await repo.live('staging')).toContain('tag: "1.4.0"');

      await decide(suite.temporal.client, handle.workflowId, {
        env: 'staging',
        approved: true,
        by: 'carol',
        comment: 'ok',
      });
      await waitForApproval(suite.temporal.client, handle.workflowId, 'prod');
      const final = await approveToEnd(suite.temporal.client, handle.workflowId, 'prod', 'alice');

      expect(final.status).toBe('succeeded');
      expect(final.environments.map((e) => e.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      expect(final.environments[0]).toMatchObject({
        tag: { api: '1.5.0', web: '2.1.0' },
        previousTag: { api: '1.4.0', web: '2.0.3' },
      });
      expect(final.environments[1]?.decision).toMatchObject({ approved: true, by: 'carol', comment: 'ok' });

      const commits = await repo.commits();
      expect(commits.slice(0, 3).map((c) => c.subject)).toEqual([
        'feat(prod): update api to 1.5.0, web to 2.1.0',
        'feat(staging): update api to 1.5.0, web to 2.1.0',
        'feat(dev): update api to 1.5.0, web to 2.1.0',
      ]);
      expect(commits[2]?.body).toContain('api: https://git.example.com/shop/api@9f3e2c1');
      expect(commits[2]?.body).toContain(`Promote-Id: ${handle.workflowId}`);
      expect(commits[2]?.body).toContain('Promote-Env: dev');
      expect(final.environments[0]?.commit).toBe(commits[2]?.hash);

      for (const env of ['dev', 'staging', 'prod']) {
        expect(await repo.live(env)).toBe(await repo.file(`environments/${env}.yaml`));
      }
      // The revision path follows the upstream ref when one is given.
      expect(await repo.file('environments/prod.yaml')).toContain("revision: '9f3e2c1'");
      expect(announcements.map((a) => `${a.env}:${a.outcome}`)).toEqual([
        'dev:deployed',
        'staging:deployed',
        'prod:deployed',
      ]);
    });
  });

  it('changes only the promoted scalars, keeping comments, quoting and layout', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const handle = await startPromotion(
        suite.temporal.client,
        request({ apps: [{ app: 'web', tag: '2.1.0' }] }),
        { taskQueue },
      );
      const final = await waitFinished(suite.temporal.client, handle.workflowId);
      expect(final.status).toBe('succeeded');
      const diff = await repo.diff(final.environments[0]?.commit ?? '');
      expect(diff).toBe(
        [
          'diff --git a/environments/dev.yaml b/environments/dev.yaml',
          '--- a/environments/dev.yaml',
          '+++ b/environments/dev.yaml',
          '@@ -15,3 +15,3 @@ web:',
          '     # bumped by Promote; never edit by hand',
          '-    tag: "2.0.3"',
          '+    tag: "2.1.0"',
          "     revision: 'unknown'   # upstream commit of the image",
          '',
        ].join('\n'),
      );
    });
  });

  it('makes no commit when run again for tags that are already in place', async () => {
    repo = await TestRepo.create({
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'staging', approval: 'auto' },
      ],
    });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const first = await startPromotion(suite.temporal.client, request(), { taskQueue });
      expect((await waitFinished(suite.temporal.client, first.workflowId)).status).toBe('succeeded');
      const before = await repo.commits();
      const deploysBefore = await repo.deployLog();

      const again = await startPromotion(suite.temporal.client, request(), { taskQueue });
      expect(again.workflowId).toBe(first.workflowId);
      const final = await waitFinished(suite.temporal.client, again.workflowId);

      expect(final.status).toBe('succeeded');
      expect(final.environments.map((e) => e.status)).toEqual(['skipped', 'skipped']);
      expect(await repo.commits()).toEqual(before);
      expect(await repo.deployLog()).toEqual(deploysBefore);
    });
  });

  it('attaches a retried start of the same request to the running promotion', async () => {
    repo = await TestRepo.create();
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const first = await startPromotion(suite.temporal.client, request(), { taskQueue });
      const second = await startPromotion(suite.temporal.client, request(), { taskQueue });
      expect(second.firstExecutionRunId).toBe(first.firstExecutionRunId);
      await waitForApproval(suite.temporal.client, first.workflowId, 'staging');
      await rejectToEnd(suite.temporal.client, first.workflowId, 'staging', 'carol', 'stop');
    });
  });

  it('stops at a rejection: later environments are never touched', async () => {
    repo = await TestRepo.create();
    await suite.temporal.withWorker(async ({ taskQueue, announcements }) => {
      const { client } = suite.temporal;
      const handle = await startPromotion(client, request(), { taskQueue });
      await waitForApproval(client, handle.workflowId, 'staging');
      const final = await rejectToEnd(client, handle.workflowId, 'staging', 'carol', 'not during the sale');

      expect(final.status).toBe('rejected');
      expect(final.environments.map((e) => e.status)).toEqual(['succeeded', 'rejected', 'pending']);
      expect(final.environments[1]?.decision).toMatchObject({
        approved: false,
        by: 'carol',
        comment: 'not during the sale',
      });
      expect((await repo.commits()).map((c) => c.subject)).not.toContain('feat(prod): update api to 1.5.0');
      expect(await repo.live('staging')).toContain('tag: "1.4.0"');
      expect(await repo.live('prod')).toContain('tag: "1.4.0"');
      expect(announcements.map((a) => `${a.env}:${a.outcome}`)).toEqual(['dev:deployed', 'staging:rejected']);
    });
  });

  it('stops at a failing apply, reverts the bump, rolls the release back and says why', async () => {
    repo = await TestRepo.create({
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'staging', approval: 'auto' },
      ],
    });
    await repo.failApply('dev', 'cluster unreachable');
    const original = await repo.file('environments/dev.yaml');
    await suite.temporal.withWorker(async ({ taskQueue, announcements }) => {
      const handle = await startPromotion(suite.temporal.client, request(), { taskQueue });
      const final = await waitFinished(suite.temporal.client, handle.workflowId);

      expect(final.status).toBe('failed');
      expect(final.environments.map((e) => e.status)).toEqual(['reverted', 'pending']);
      const dev = final.environments[0];
      expect(dev?.error).toMatch(
        /apply command .*deploy\.sh apply dev exited with 3: simulated failure: cluster unreachable/,
      );
      expect(final.error).toContain('simulated failure: cluster unreachable');
      expect(dev?.rolledBack).toBe(true);

      const [revert, bump] = await repo.commits();
      expect(bump?.subject).toBe('feat(dev): update api to 1.5.0');
      expect(revert?.subject).toBe('revert(dev): restore api 1.4.0');
      expect(revert?.body).toContain(`Reverts ${bump?.hash}`);
      expect(revert?.body).toContain('Promote-Action: revert');
      expect(dev?.revertCommit).toBe(revert?.hash);
      // Git and the cluster agree again: both hold what was there before.
      expect(await repo.file('environments/dev.yaml')).toBe(original);
      expect(await repo.live('dev')).toBe(original);
      expect((await repo.deployLog()).map((l) => l.split(' ')[1])).toEqual(['start', 'failed', 'rollback']);
      expect(announcements.map((a) => `${a.env}:${a.outcome}`)).toEqual(['dev:failed']);
      // A finished promotion's state is readable without replaying it.
      expect((await getStatus(suite.temporal.client, handle.workflowId)).status).toBe('failed');
    });
  });
});
