// Histories of manual environments on the proposal flow (patch 'proposals'): approved, rejected, and
// rebuilt after its line changed on the deployment branch. Each scenario runs only when its file is missing.
import type { Client } from '@temporalio/client';
import { approveShown } from '../../client/approve.js';
import { decide, getStatus, waitFinished } from '../../client/promotions.js';
import { TestRepo } from './repo.js';
import type { TestTemporal } from './temporal.js';
import { eventually } from './wait.js';
import { startTagPromotion } from './requests.js';

type Save = (client: Client, name: string, workflowId: string, runId?: string) => Promise<void>;

export async function recordProposalHistories(
  temporal: TestTemporal,
  save: Save,
  missing: (name: string) => boolean,
): Promise<void> {
  const client = temporal.client;

  const waitingProposal = (id: string, rebuilt: boolean) =>
    eventually(`${id} to wait for approval of its proposal`, async () => {
      const env = (await getStatus(client, id)).environments.find((e) => e.name === 'prod');
      const ready =
        env?.status === 'waiting-approval' && !!env.proposal?.commit && !!env.proposal.reason === rebuilt;
      return ready ? env : undefined;
    });

  async function scenario(name: string, run: (repo: TestRepo, id: string) => Promise<void>): Promise<void> {
    if (!missing(name)) return;
    const repo = await TestRepo.create({ environments: [{ name: 'prod', approval: 'manual' }] });
    try {
      await temporal.withWorker(async ({ taskQueue }) => {
        const h = await startTagPromotion(client, taskQueue, repo);
        await waitingProposal(h.workflowId, false);
        await run(repo, h.workflowId);
        await waitFinished(client, h.workflowId);
        await save(client, name, h.workflowId);
      });
    } finally {
      await repo.remove();
    }
  }

  await scenario('promote-proposal-approved', async (_repo, id) => {
    await approveShown(client, id, { env: 'prod', by: 'alice' });
  });

  await scenario('promote-proposal-rejected', async (_repo, id) => {
    await decide(client, id, { env: 'prod', approved: false, by: 'alice', comment: 'not today' });
  });

  await scenario('promote-proposal-rebuilt', async (repo, id) => {
    await repo.editFile('environments/prod.yaml', 'tag: "1.4.0"', 'tag: "1.4.1"', 'hotfix api');
    await approveShown(client, id, { env: 'prod', by: 'alice' });
    await waitingProposal(id, true);
    await approveShown(client, id, { env: 'prod', by: 'alice' });
  });
}
