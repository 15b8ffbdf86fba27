// Histories of manual environments on the proposal flow (patch 'proposals'): approved, rejected, and
// rebuilt after its line changed on the deployment branch. Each scenario runs only when its file is missing.
import { approveShown } from '../../client/approve.js';
import { decide, getStatus, waitFinished } from '../../client/promotions.js';
import { type Recorder } from './record-scenario.js';
import type { TestRepo } from './repo.js';
import { eventually } from './wait.js';
import { startTagPromotion } from './requests.js';

export async function recordProposalHistories({
  client,
  save,
  scenario: runScenario,
}: Recorder): Promise<void> {
  const waitingProposal = (id: string, rebuilt: boolean) =>
    eventually(`${id} to wait for approval of its proposal`, async () => {
      const env = (await getStatus(client, id)).environments.find((e) => e.name === 'prod');
      const ready =
        env?.status === 'waiting-approval' && !!env.proposal?.commit && !!env.proposal.reason === rebuilt;
      return ready ? env : undefined;
    });

  /** A promotion waiting on its prod proposal; `run` decides it, then the finished run is saved. */
  const scenario = (name: string, run: (repo: TestRepo, id: string) => Promise<void>) =>
    runScenario([name], { environments: [{ name: 'prod', approval: 'manual' }] }, async (repo, taskQueue) => {
      const h = await startTagPromotion(client, taskQueue, repo);
      await waitingProposal(h.workflowId, false);
      await run(repo, h.workflowId);
      await waitFinished(client, h.workflowId);
      await save(client, name, h.workflowId);
    });

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
