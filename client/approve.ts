import type { Client } from '@temporalio/client';
import type { Decision, DecisionInput } from '../common/types.js';
import { decide, getStatus } from './promotions.js';

/**
 * An approval names the commit it approves: `--commit` pins it, else the one `promote status` shows
 * right now. If the proposal is rebuilt in between, the workflow refuses the decision as stale.
 */
export async function approveShown(
  client: Client,
  id: string,
  input: Omit<DecisionInput, 'approved'>,
): Promise<Decision> {
  let commit = input.commit;
  if (!commit) {
    const state = await getStatus(client, id);
    const env = state.environments.find((e) => e.name === input.env);
    if (env?.status === 'waiting-approval') commit = env.commit;
  }
  return decide(client, id, { ...input, approved: true, ...(commit ? { commit } : {}) });
}
