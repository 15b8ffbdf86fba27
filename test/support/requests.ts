import type { Client } from '@temporalio/client';
import { startPromotion } from '../../client/promotions.js';

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
