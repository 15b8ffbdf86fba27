import { describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { approveShown } from '../client/approve.js';
import { decide, getStatus, waitFinished } from '../client/promotions.js';
import { promoteCli } from './support/cli.js';
import { inProdOnlyRepo, prod, prodOnly, waitingProposal } from './support/proposals.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { envStatus, eventually } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';
import { rejectToEnd } from './support/approve.js';

const suite = useTemporal();
const apps = { api: '1.4.0', web: '2.0.3', worker: '0.9.0' };

/**
 * `env` alone with a lockTimeout of two seconds and an apply that takes ten minutes: whoever applies
 * there holds the lock past any waiter's timeout (the test kills the apply when done).
 */
async function heldPastLockTimeoutRepo(env: {
  name: string;
  approval: 'auto' | 'manual';
}): Promise<TestRepo> {
  const repo = await TestRepo.create({ environments: [{ ...env, lockTimeout: '2s' }] });
  await writeFile(join(repo.cluster, 'slow-apply'), '600');
  return repo;
}

describe('proposals in a manual environment', () => {
  it('lets others deploy while two promotions wait for approval, then lands both in either order', async () => {
    const repo = await TestRepo.create({ environments: prodOnly, apps });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const start = (app: string, tag: string) =>
        startTagPromotion(client, taskQueue, repo, { app, tag, requestedBy: 'ci' });
      const api = await start('api', '1.5.0');
      const web = await start('web', '2.1.0');
      const apiWaiting = await waitingProposal(suite.temporal.client, api.workflowId);
      await waitingProposal(suite.temporal.client, web.workflowId);

      // Each waits on its own branch: the deployment branch has seen neither.
      expect(prod(apiWaiting).proposal).toMatchObject({
        branch: `promote/prod/${api.workflowId}`,
        phase: 'proposed',
      });
      expect(await repo.branches()).toEqual(
        expect.arrayContaining([`promote/prod/${api.workflowId}`, `promote/prod/${web.workflowId}`]),
      );
      expect(await repo.file('environments/prod.yaml')).toContain('tag: "1.4.0"');
      expect(prod(apiWaiting).diff).toContain('+    tag: "1.5.0"');
      expect(await repo.file('environments/prod.yaml', prod(apiWaiting).commit)).toContain('tag: "1.5.0"');

      // A third app goes through prod meanwhile: nobody holds the environment while waiting.
      const worker = await start('worker', '1.0.0');
      await waitingProposal(suite.temporal.client, worker.workflowId);
      await approveShown(client, worker.workflowId, { env: 'prod', by: 'carol' });
      expect((await waitFinished(client, worker.workflowId)).status).toBe('succeeded');
      expect(prod(await getStatus(client, api.workflowId)).status).toBe('waiting-approval');

      // Approved in the opposite order of their start: each lands on the head the other left.
      await approveShown(client, web.workflowId, { env: 'prod', by: 'carol' });
      await approveShown(client, api.workflowId, { env: 'prod', by: 'carol' });
      const [apiFinal, webFinal] = [
        await waitFinished(client, api.workflowId),
        await waitFinished(client, web.workflowId),
      ];
      expect([apiFinal.status, webFinal.status]).toEqual(['succeeded', 'succeeded']);
      const live = (await repo.live('prod')) ?? '';
      expect(live).toContain('tag: "1.5.0"');
      expect(live).toContain('tag: "2.1.0"');
      expect(live).toContain('tag: "1.0.0"');
      expect(await repo.branches()).toEqual(['main']);
      const subjects = (await repo.commits()).map((c) => c.subject);
      expect(subjects.filter((s) => s.startsWith('feat(prod)'))).toHaveLength(3);
      expect(subjects.some((s) => s.startsWith('revert'))).toBe(false);

      // One apply at a time: every start is followed by its own done before the next start.
      const log = (await repo.deployLog()).filter((l) => / (start|done) prod /.test(l));
      const kinds = log.map((l) => l.split(' ')[1]);
      expect(kinds).toEqual(['start', 'done', 'start', 'done', 'start', 'done']);
    });
  });

  it('leaves no trace in the deployment branch when rejected, and deletes the proposal branch', async () => {
    await inProdOnlyRepo(suite.temporal, async (repo, { taskQueue }) => {
      const client = suite.temporal.client;
      const before = await repo.head();
      const handle = await startTagPromotion(client, taskQueue, repo);
      await waitingProposal(suite.temporal.client, handle.workflowId);
      expect(await repo.branches()).toContain(`promote/prod/${handle.workflowId}`);
      const final = await rejectToEnd(client, handle.workflowId, 'prod', 'alice', 'not today');
      expect(final.status).toBe('rejected');
      expect(prod(final)).toMatchObject({ status: 'rejected', proposal: { phase: 'dropped' } });
      expect(prod(final).revertCommit).toBeUndefined();
      expect(await repo.head()).toBe(before);
      expect(await repo.branches()).toEqual(['main']);
      expect(await repo.live('prod')).toContain('tag: "1.4.0"');
    });
  });

  it('rebuilds and asks again when its lines changed, refusing an approval of the stale commit', async () => {
    await inProdOnlyRepo(suite.temporal, async (repo, { taskQueue }) => {
      const client = suite.temporal.client;
      const handle = await startTagPromotion(client, taskQueue, repo);
      const first = prod(await waitingProposal(suite.temporal.client, handle.workflowId));
      const stale = first.commit ?? '';

      // Someone sets the very line the proposal changes, on the deployment branch.
      const hotfix = await repo.editFile(
        'environments/prod.yaml',
        'tag: "1.4.0"',
        'tag: "1.4.1"',
        'hotfix api',
      );
      await decide(client, handle.workflowId, { env: 'prod', approved: true, by: 'alice', commit: stale });

      const rebuilt = prod(await waitingProposal(suite.temporal.client, handle.workflowId, true));
      expect(rebuilt.commit).not.toBe(stale);
      expect(rebuilt.proposal?.reason).toMatch(/api\.image\.tag changed .*was "1\.4\.0", now "1\.4\.1"/);
      expect(rebuilt.proposal?.rebuilds).toBe(1);
      expect(rebuilt.proposal?.base).toBe(hotfix);
      expect(await repo.file('environments/prod.yaml')).toContain('tag: "1.4.1"');

      await expect(
        decide(client, handle.workflowId, { env: 'prod', approved: true, by: 'alice', commit: stale }),
      ).rejects.toThrow(/this approval request is stale: it names .* but prod now proposes .*rebuilt/);

      const cli = await promoteCli(
        [
          'approve',
          handle.workflowId,
          '--env',
          'prod',
          '--as',
          'bob',
          '--commit',
          (rebuilt.commit ?? '').slice(0, 12),
        ],
        { address: suite.temporal.address, taskQueue },
      );
      expect(cli).toMatchObject({ code: 0 });
      const final = await waitFinished(client, handle.workflowId);
      expect(final.status).toBe('succeeded');
      expect(prod(final).decision).toMatchObject({ approved: true, by: 'bob' });
      expect(await repo.live('prod')).toContain('tag: "1.5.0"');
      expect((await repo.commits()).map((c) => c.subject).slice(0, 2)).toEqual([
        'feat(prod): update api to 1.5.0',
        'hotfix api',
      ]);
    });
  });

  it('lands on a branch that moved elsewhere without asking again', async () => {
    await inProdOnlyRepo(suite.temporal, async (repo, { taskQueue }) => {
      const client = suite.temporal.client;
      const handle = await startTagPromotion(client, taskQueue, repo);
      const proposed = prod(await waitingProposal(suite.temporal.client, handle.workflowId));
      await repo.editFile('environments/prod.yaml', 'tag: "2.0.3"', 'tag: "2.0.4"', 'web fix');
      await approveShown(client, handle.workflowId, {
        env: 'prod',
        by: 'alice',
        commit: proposed.commit ?? '',
      });
      const final = await waitFinished(client, handle.workflowId);
      expect(final.status).toBe('succeeded');
      expect(prod(final).proposal?.rebuilds).toBeUndefined();
      const live = (await repo.live('prod')) ?? '';
      expect(live).toContain('tag: "1.5.0"');
      expect(live).toContain('tag: "2.0.4"');
      const [landed] = await repo.commits();
      expect(landed?.subject).toBe('feat(prod): update api to 1.5.0');
      expect(landed?.body).toContain(`Promote-Id: ${handle.workflowId}`);
    });
  });

  it('is replaced by a newer promotion of the same app while it waits', async () => {
    await inProdOnlyRepo(suite.temporal, async (repo, { taskQueue }) => {
      const client = suite.temporal.client;
      const older = await startTagPromotion(client, taskQueue, repo);
      await waitingProposal(suite.temporal.client, older.workflowId);
      const newer = await startTagPromotion(client, taskQueue, repo, { tag: '1.6.0' });
      const olderFinal = await waitFinished(client, older.workflowId);
      expect(olderFinal.status).toBe('cancelled');
      expect(prod(olderFinal)).toMatchObject({ status: 'superseded', supersededBy: newer.workflowId });
      await waitingProposal(suite.temporal.client, newer.workflowId);
      await eventually('the older proposal branch to be deleted', async () =>
        (await repo.branches()).includes(`promote/prod/${older.workflowId}`) ? undefined : true,
      );
      await approveShown(client, newer.workflowId, { env: 'prod', by: 'alice' });
      expect((await waitFinished(client, newer.workflowId)).status).toBe('succeeded');
      expect(await repo.live('prod')).toContain('tag: "1.6.0"');
    });
  });

  it('fails an approved proposal that waits to land longer than lockTimeout, and deletes it', async () => {
    const repo = await heldPastLockTimeoutRepo({ name: 'prod', approval: 'manual' });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const start = (app: string, tag: string) => startTagPromotion(client, taskQueue, repo, { app, tag });
      const [holder, late] = [await start('api', '1.5.0'), await start('web', '2.1.0')];
      await waitingProposal(suite.temporal.client, holder.workflowId);
      await waitingProposal(suite.temporal.client, late.workflowId);
      await approveShown(client, holder.workflowId, { env: 'prod', by: 'alice' });
      await envStatus(client, holder.workflowId, 'prod', 'applying');
      await approveShown(client, late.workflowId, { env: 'prod', by: 'alice' });
      const final = await waitFinished(client, late.workflowId);
      expect(final.status).toBe('failed');
      expect(prod(final).error).toBe(
        `waited longer than lockTimeout (2s) for prod, held by ${holder.workflowId}`,
      );
      expect(prod(final).proposal?.phase).toBe('dropped');
      expect(await repo.branches()).not.toContain(`promote/prod/${late.workflowId}`);
      expect(await repo.file('environments/prod.yaml')).toContain('tag: "2.0.3"');
      await repo.killApply().catch(() => undefined);
    });
  });

  it('fails a promotion queued longer than lockTimeout, naming the holder', async () => {
    const repo = await heldPastLockTimeoutRepo({ name: 'dev', approval: 'auto' });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const holder = await startTagPromotion(client, taskQueue, repo);
      await envStatus(client, holder.workflowId, 'dev', 'applying');
      const queued = await startTagPromotion(client, taskQueue, repo, { app: 'web', tag: '2.1.0' });
      const final = await waitFinished(client, queued.workflowId);
      expect(final.status).toBe('failed');
      expect(final.environments[0]?.error).toBe(
        `waited longer than lockTimeout (2s) for dev, held by ${holder.workflowId}`,
      );
      expect(await repo.file('environments/dev.yaml')).toContain('tag: "2.0.3"');
      await repo.killApply().catch(() => undefined);
    });
  });
});
