/**
 * Worker settings read from the environment. Durations are milliseconds; anything unset or not a
 * positive integer keeps the default.
 */

/** The deploy activity's budget (workflows/timeouts.ts `deploy.startToCloseTimeout`). */
export const DEPLOY_BUDGET_MS = 2 * 60 * 60_000;

function positiveInteger(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive whole number of milliseconds, not ${JSON.stringify(raw)}`);
  }
  return value;
}

export interface WorkerSettings {
  /** PROMOTE_LOCK_LEASE_MS: how often an environment lock checks its holder still runs (default 60s). */
  lockLeaseMs?: number;
  /** PROMOTE_LOCK_REASSERT_MS: how often a queued or holding promotion asks its lock again (default 5 min). */
  lockReassertMs?: number;
  /**
   * PROMOTE_COMPENSATION_RETRY_MS: how long a revert or rollback keeps retrying (inside its activity)
   * before the environment ends `compensation-failed` and is released (default 30 min).
   */
  compensationRetryMs?: number;
  /**
   * PROMOTE_LOCK_IDLE_MS: how long a free environment lock waits for a request before it ends (default
   * 1 min, activities/lock-requests.ts says why). A free lock pinned to an old worker version leaves it
   * only by ending, so this bounds a drain.
   */
  lockIdleMs?: number;
  /**
   * PROMOTE_SHUTDOWN_GRACE_MS: how long a stopping worker lets running activities finish before it
   * cancels them. By default a whole deploy's budget, so a rollout never cuts an apply; a pod's
   * `terminationGracePeriodSeconds` must be longer than this.
   */
  shutdownGraceMs: number;
}

export function workerSettingsFromEnv(defaults: { shutdownGraceMs?: number } = {}): WorkerSettings {
  return {
    lockLeaseMs: positiveInteger('PROMOTE_LOCK_LEASE_MS'),
    lockReassertMs: positiveInteger('PROMOTE_LOCK_REASSERT_MS'),
    compensationRetryMs: positiveInteger('PROMOTE_COMPENSATION_RETRY_MS'),
    lockIdleMs: positiveInteger('PROMOTE_LOCK_IDLE_MS'),
    shutdownGraceMs:
      positiveInteger('PROMOTE_SHUTDOWN_GRACE_MS') ?? defaults.shutdownGraceMs ?? DEPLOY_BUDGET_MS,
  };
}

/** PROMOTE_HEALTH_PORT: serve /healthz and /readyz on this port; unset: no health server. */
export function healthPort(value = process.env.PROMOTE_HEALTH_PORT): number | undefined {
  if (!value) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PROMOTE_HEALTH_PORT=${JSON.stringify(value)} is not a port number`);
  return port;
}
