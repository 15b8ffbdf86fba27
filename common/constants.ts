/** Workers and clients meet on this task queue; PROMOTE_TASK_QUEUE overrides it (tests, side-by-side installs). */
export const DEFAULT_TASK_QUEUE = 'promote';
/** Where the demo keeps state; git-ignored. */
export const STATE_DIR_NAME = '.promote';
/** The configuration file at the root of a deployment repository. */
export const CONFIG_FILE = 'promote.yaml';
