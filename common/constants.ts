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
