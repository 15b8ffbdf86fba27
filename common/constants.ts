/** Workers and clients meet on this task queue; PROMOTE_TASK_QUEUE overrides it (tests, side-by-side installs). */
export const DEFAULT_TASK_QUEUE = 'promote';
/** Where the demo keeps state; git-ignored. */
export const STATE_DIR_NAME = '.promote';
/** The configuration file at the root of a deployment repository. */
export const CONFIG_FILE = 'promote.yaml';
/**
 * How long a manual environment waits for a decision unless promote.yaml says otherwise. Here, not in
 * config/schema.ts: workflow code needs it, and importing the schema would bundle zod into every
 * workflow (each cached workflow evaluates its own copy of the bundle's modules).
 */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 72 * 3_600_000;
/**
 * The longest `approvalTimeout` promote.yaml may set: a wait is one timer, but a run that lives for
 * months outlives worker upgrades and retention assumptions; 30 days bounds every wait's history.
 */
export const MAX_APPROVAL_TIMEOUT_MS = 30 * 86_400_000;

/**
 * Deploy timing (docs/operations.md, "Applies and retries"). Here, not in activities/ or workflows/:
 * the activity presets, the worker and the helm repair must agree on them.
 *
 * How long a cancelled deploy command gets between SIGTERM and SIGKILL, unless configured.
 */
export const DEFAULT_DEPLOY_GRACE_MS = 30_000;
/**
 * A deploy attempt that has not heartbeaten for this long is lost and may be retried. Its worker
 * heartbeats every 2 s; a minute tolerates an event loop or a machine slowed by load, so a live apply
 * is not declared lost under it.
 */
export const DEPLOY_HEARTBEAT_TIMEOUT_MS = 60_000;
/**
 * The wait before a lost deploy attempt is retried: longer than the heartbeat timeout plus the grace,
 * so the lost attempt's worker, which learns of the loss with its next heartbeat, has ended its
 * command (SIGTERM, grace, SIGKILL of the group) before the next attempt starts one.
 */
export const DEPLOY_RETRY_INTERVAL_MS = 2 * 60_000;
/**
 * A helm release left `pending-*` is repaired (rolled back) only once its pending revision is older
 * than this: a younger one may belong to an apply that is still running.
 */
export const PENDING_REVISION_REPAIR_AGE_MS = DEPLOY_RETRY_INTERVAL_MS;
/**
 * The longest a worker holds back an activity's heartbeats (the SDK's default would be 80% of the
 * heartbeat timeout, 48 s for a deploy): a cancel, or the news that an attempt was lost, reaches the
 * running command within this.
 */
export const HEARTBEAT_THROTTLE_MS = 10_000;
