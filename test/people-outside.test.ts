import { describe, expect, it } from '@jest/globals';
import { decide, getStatus, waitFinished } from '../client/promotions.js';
import { inProdOnlyRepo, prod, waitingProposal } from './support/proposals.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';

const suite = useTemporal();

/** Starts a promotion into prod and merges its proposal by hand while it waits for approval. */
async function proposalMergedByHand(repo: TestRepo, taskQueue: string) {
  const handle = await startTagPromotion(suite.temporal.client, taskQueue, repo);
  const waiting = prod(await waitingProposal(suite.temporal.client, handle.workflowId));
  await repo.mergeByHand(waiting.proposal?.branch ?? '');
  return { handle, waiting };
}

describe('people acting outside Promote', () => {
  it('reverts a proposal merged by hand and then rejected, by its trailers', async () => {
    await inProdOnlyRepo(suite.temporal, async (repo, { taskQueue }) => {
      const client = suite.temporal.client;
      const { handle } = await proposalMergedByHand(repo, taskQueue);
      expect(await repo.file('environments/prod.yaml')).toContain('tag: "1.5.0"');

      await decide(client, handle.workflowId, { env: 'prod', approved: false, by: 'alice', comment: 'no' });
      const final = await waitFinished(client, handle.workflowId);
      expect(final.status).toBe('rejected');
      expect(prod(final).revertCommit).toBeDefined();
      expect(await repo.file('environments/prod.yaml')).toContain('tag: "1.4.0"');
      const [reverted] = await repo.commits();
      expect(reverted?.hash).toBe(prod(final).revertCommit);
      expect(reverted?.subject).toMatch(/^revert\(prod\)/);
      expect(reverted?.body).toContain(`Promote-Id: ${handle.workflowId}`);
      expect(reverted?.body).toContain('Promote-Action: revert');
      expect(await repo.branches()).toEqual(['main']);
      // Nothing was applied: the cluster never ran the unapproved tag.
      expect(await repo.live('prod')).toContain('tag: "1.4.0"');
    });
  });

  it('does not land silently a proposal someone already merged: it is reverted and asked again', async () => {
    await inProdOnlyRepo(suite.temporal, async (repo, { taskQueue }) => {
      const client = suite.temporal.client;
      const { handle, waiting } = await proposalMergedByHand(repo, taskQueue);
      await decide(client, handle.workflowId, {
        env: 'prod',
        approved: true,
        by: 'alice',
        commit: waiting.commit ?? '',
      });
      const again = await eventually('a rebuilt proposal', async () => {
        const env = prod(await getStatus(client, handle.workflowId));
        return env.status === 'waiting-approval' && env.proposal?.reason ? env : undefined;
      });
      expect(again.proposal?.reason).toMatch(/merged outside Promote/);
      expect(await repo.file('environments/prod.yaml')).toContain('tag: "1.4.0"');
      expect(await repo.live('prod')).toContain('tag: "1.4.0"');

      await decide(client, handle.workflowId, {
        env: 'prod',
        approved: true,
        by: 'alice',
        commit: again.commit ?? '',
      });
      const final = await waitFinished(client, handle.workflowId);
      expect(final.status).toBe('succeeded');
      expect(await repo.live('prod')).toContain('tag: "1.5.0"');
      expect(await repo.file('environments/prod.yaml')).toContain('tag: "1.5.0"');
    });
  });
});
