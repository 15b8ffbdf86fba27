import { describe, expect, it } from '@jest/globals';
import { decide, getStatus, waitFinished, waitForApproval } from '../client/promotions.js';
import { slackNotifier } from './support/slack-notifier.js';
import type { StoredMessage } from './support/slack-api.js';
import { useSlackStandIn } from './support/slack-suite.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';

/** Issue 19: while a quorum is gathered, Slack and the Web UI say how many approved, and who. */
const suite = useTemporal();
const standIn = useSlackStandIn();

const hasButtons = (m: StoredMessage | undefined) =>
  (m?.blocks ?? []).some((b) => (b as { type?: string }).type === 'actions');

/** The Web UI's "current details" of a running workflow, as it reads them. */
async function currentDetails(id: string): Promise<string | undefined> {
  const handle = suite.temporal.client.workflow.getHandle(id);
  return (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails;
}

describe('partial approvals', () => {
  it('show "1 of 2 approvals" with who in the Slack request (buttons kept) and the Web UI', async () => {
    const repo = await TestRepo.create({
      environments: [{ name: 'staging', approval: 'manual', approvers: ['alice', 'bob'], minApprovals: 2 }],
      extraConfig: `notifications:\n  slack:\n    channel: '#deploys'\n    users: { alice: U0ALICE, bob: U0BOB }\n`,
    });
    const notifier = slackNotifier(standIn.slack);
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const client = suite.temporal.client;
        const handle = await startTagPromotion(client, taskQueue, repo.url, { requestedBy: 'ci' });
        const id = handle.workflowId;
        const waiting = await waitForApproval(client, id, 'staging');
        const commit = waiting.environments[0]?.commit;
        const request = () =>
          eventually('the approval request', () => {
            const [root] = standIn.slack.roots('C0DEPLOYS');
            const ref = root
              ? standIn.slack.thread(root).find((m) => m.text.includes('waits for approval'))
              : undefined;
            return Promise.resolve(ref);
          });
        const asked = await request();
        expect(JSON.stringify(asked.blocks)).toContain('0 of 2 approvals');

        await decide(client, id, { env: 'staging', approved: true, by: 'alice', commit });
        const partial = await eventually('the request to show alice', async () => {
          const current = await request();
          return JSON.stringify(current.blocks).includes('1 of 2 approvals (alice)') ? current : undefined;
        });
        expect(hasButtons(partial)).toBe(true);
        expect(await currentDetails(id)).toBe('waiting for approval in staging: 1 of 2 approvals (alice)');
        expect((await getStatus(client, id)).environments[0]?.status).toBe('waiting-approval');

        await decide(client, id, { env: 'staging', approved: true, by: 'bob', commit });
        const final = await waitFinished(client, id);
        expect(final.status).toBe('succeeded');
        const decided = await request();
        expect(hasButtons(decided)).toBe(false);
        expect(decided.text).toContain('Approved by <@U0BOB>');
        // Every reply was posted once: the partial approval updated the request, it posted nothing.
        const [root] = standIn.slack.roots('C0DEPLOYS');
        expect(
          standIn.slack.thread(root as StoredMessage).filter((m) => m.text.includes('waits for approval')),
        ).toHaveLength(1);
      },
      { notifier },
    );
  });
});
