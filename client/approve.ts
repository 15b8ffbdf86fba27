import type { Client } from '@temporalio/client';
import type { Decision, DecisionInput } from '../common/types.js';
import { decide } from './promotions.js';

/**
 * An approval names the commit it approves: `--commit` pins it, else `decide` sends the one
 * `promote status` shows right now. If the proposal is rebuilt in between, the workflow refuses the
 * decision as stale.
 */
export async function approveShown(
  client: Client,
  id: string,
  input: Omit<DecisionInput, 'approved'>,
): Promise<Decision> {
  return decide(client, id, { ...input, approved: true });
}
