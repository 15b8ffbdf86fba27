import { expect } from '@jest/globals';
import type { Client } from '@temporalio/client';
import { decide, waitFinished, waitForApproval } from '../../client/promotions.js';
import type { PromotionState } from '../../common/types.js';

/** Approves `env` of promotion `id` as `by`, then waits for the promotion to end: its final state. */
export async function approveToEnd(
  client: Client,
  id: string,
  env: string,
  by: string,
): Promise<PromotionState> {
  await decide(client, id, { env, approved: true, by });
  return waitFinished(client, id);
}

/** Rejects `env` of promotion `id` as `by`, saying why, then waits for the promotion to end: its final state. */
export async function rejectToEnd(
  client: Client,
  id: string,
  env: string,
  by: string,
  comment: string,
): Promise<PromotionState> {
  await decide(client, id, { env, approved: false, by, comment });
  return waitFinished(client, id);
}

/** Waits until promotion `id` asks for approval in `env`, approves it as `by`, and expects it to succeed. */
export async function approveToSuccess(client: Client, id: string, env: string, by: string): Promise<void> {
  await waitForApproval(client, id, env);
  expect((await approveToEnd(client, id, env, by)).status).toBe('succeeded');
}
