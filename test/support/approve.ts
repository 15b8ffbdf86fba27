import { expect } from '@jest/globals';
import type { Client } from '@temporalio/client';
import { decide, waitFinished, waitForApproval } from '../../client/promotions.js';

/** Waits until promotion `id` asks for approval in `env`, approves it as `by`, and expects it to succeed. */
export async function approveToSuccess(client: Client, id: string, env: string, by: string): Promise<void> {
  await waitForApproval(client, id, env);
  await decide(client, id, { env, approved: true, by });
  expect((await waitFinished(client, id)).status).toBe('succeeded');
}
