import type { Client } from '@temporalio/client';
import type { PromotionState } from '../common/types.js';
import type { Notifier } from './notifier.js';
import type { RepositoryCache } from './repository.js';

/** What the activity factories are built from (worker/create-worker.ts passes them; tests pass their own). */
export interface ActivityDeps {
  cache: RepositoryCache;
  notifier: Notifier;
  /** Talks to Temporal itself: environment locks and past promotions. */
  client: Client;
  /** Reads a promotion's state (running or finished) for `--only` checks. */
  promotionStatus: (id: string) => Promise<PromotionState | undefined>;
  /** How long a cancelled deploy command gets between SIGTERM and SIGKILL. */
  deployGraceMs?: number;
  /** Extra environment for helm/helmfile deployers (e.g. KUBECONFIG); the worker's own otherwise. */
  deployEnv?: Record<string, string>;
  heartbeatIntervalMs?: number;
  /** How often an environment lock checks that its holder still runs. */
  lockLeaseMs?: number;
  /** How often a queued promotion asks its lock again (rebuilding a lock that was lost). */
  lockReassertMs?: number;
  /**
   * How long compensation (a revert, a rollback) keeps retrying inside its activity before it gives up
   * and the environment ends `compensation-failed` (default 30 minutes).
   */
  compensationRetryMs?: number;
  /**
   * How long a lock waits, after finding its holder gone mid-apply, before granting the next one: by
   * default the deploy heartbeat timeout plus the deploy command's grace.
   */
  lockDrainMs?: number;
  /** How long a free lock waits for a request before it ends (default 1 min); bounds a version's drain. */
  lockIdleMs?: number;
}
