import type { Client } from '@temporalio/client';
import { startPromotion, waitFinished, waitForApproval } from '../../client/promotions.js';
import type { PromotionRequest, PromotionState } from '../../common/types.js';
import { envStatus } from './wait.js';

/**
 * Starts the promotion most tests send: one app (`api` unless said) to one tag (`1.5.0` unless said) in a
 * test repository (a TestRepo, or a spec such as `github:shop/name`), on the test worker's task queue.
 * One builder, so a test names only what it is about.
 */
export function startTagPromotion(
  client: Client,
  taskQueue: string,
  repo: { readonly url: string } | string,
  { app = 'api', tag = '1.5.0', requestedBy }: { app?: string; tag?: string; requestedBy?: string } = {},
): ReturnType<typeof startPromotion> {
  return startPromotion(
    client,
    {
      repo: typeof repo === 'string' ? repo : repo.url,
      apps: [{ app, tag }],
      ...(requestedBy === undefined ? {} : { requestedBy }),
    },
    { taskQueue },
  );
}

/** The request the lock tests build on: api to 1.5.0 in `repo`, requested by `test`, with `overrides`. */
export function promotionRequest(
  repo: { readonly url: string },
  overrides: Partial<PromotionRequest> = {},
): PromotionRequest {
  return { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }], requestedBy: 'test', ...overrides };
}

/** Starts `holder` and waits until it holds `env` (staging unless said), waiting for approval there. */
export async function startHolder(
  client: Client,
  taskQueue: string,
  holder: PromotionRequest,
  env = 'staging',
): ReturnType<typeof startPromotion> {
  const handle = await startPromotion(client, holder, { taskQueue });
  await waitForApproval(client, handle.workflowId, env);
  return handle;
}

/**
 * Starts `holder` and waits until it holds `env` (staging unless said) waiting for approval, then starts
 * `next` (by default the same request for web 2.1.0) and waits until it queues behind it. Returns both handles and the queued promotion's state.
 */
export async function holderThenQueued(
  client: Client,
  taskQueue: string,
  holder: PromotionRequest,
  next: PromotionRequest = { ...holder, apps: [{ app: 'web', tag: '2.1.0' }] },
  env = 'staging',
): Promise<{
  first: Awaited<ReturnType<typeof startPromotion>>;
  second: Awaited<ReturnType<typeof startPromotion>>;
  queued: PromotionState;
}> {
  const first = await startHolder(client, taskQueue, holder, env);
  const second = await startPromotion(client, next, { taskQueue });
  const queued = await envStatus(client, second.workflowId, env, 'queued');
  return { first, second, queued };
}

/** {@link startTagPromotion}, then waits for the promotion to end; returns its final state. */
export async function promoteTagToEnd(
  client: Client,
  taskQueue: string,
  repo: { readonly url: string } | string,
  options: Parameters<typeof startTagPromotion>[3] = {},
): Promise<PromotionState> {
  const handle = await startTagPromotion(client, taskQueue, repo, options);
  return waitFinished(client, handle.workflowId);
}
