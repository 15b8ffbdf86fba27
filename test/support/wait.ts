import type { Client } from '@temporalio/client';
import { getStatus } from '../../client/promotions.js';
import type { EnvironmentStatus, PromotionState } from '../../common/types.js';

/** Polls until `check` returns a value; fails with `what` after the timeout. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  // Generous: on a busy machine a step can take minutes; the test timeout is the real bound.
  timeoutMs = 180_000,
  intervalMs = 150,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const value = await check().then(
      (v) => {
        lastError = undefined;
        return v;
      },
      (error: unknown) => {
        lastError = error;
        return undefined;
      },
    );
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const message = lastError instanceof Error ? lastError.message : JSON.stringify(lastError);
      const why = lastError === undefined ? '' : `; the last check failed with: ${message}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function envStatus(
  client: Client,
  id: string,
  env: string,
  status: EnvironmentStatus,
  timeoutMs?: number,
): Promise<PromotionState> {
  return eventually(
    `${id} to reach ${status} in ${env}`,
    async () => {
      const state = await getStatus(client, id);
      return state.environments.find((e) => e.name === env)?.status === status ? state : undefined;
    },
    timeoutMs,
  );
}
