// The janitor's histories (issue 23 item 5): a tick that dropped a terminated promotion's proposal.
// Each scenario runs only when its file is missing.
import { waitForApproval } from '../../client/promotions.js';
import type { JanitorResult } from '../../workflows/janitor.js';
import { type Recorder } from './record-scenario.js';
import { eventually } from './wait.js';
import { startTagPromotion } from './requests.js';

export async function recordJanitorHistories({ client, save, scenario }: Recorder): Promise<void> {
  const name = 'promote-janitor-dropped-proposal';
  await scenario([name], {}, async (repo, taskQueue) => {
    const h = await startTagPromotion(client, taskQueue, repo.url, { requestedBy: 'recorder' });
    await waitForApproval(client, h.workflowId, 'staging');
    await client.workflow.getHandle(h.workflowId).terminate('recording the janitor');
    const workflowId = `janitor-record-${h.workflowId}`;
    // Visibility may show the close a moment late: ticks repeat until one dropped the proposal.
    const runId = await eventually(
      'a janitor tick to drop the proposal',
      async () => {
        const handle = await client.workflow.start<() => Promise<JanitorResult>>('promoteJanitor', {
          taskQueue,
          workflowId,
          args: [],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        });
        const result = await handle.result();
        return result.dropped > 0 ? handle.firstExecutionRunId : undefined;
      },
      120_000,
      250,
    );
    await save(client, name, workflowId, runId);
  });
}
