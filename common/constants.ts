export const TASK_QUEUE = 'promote';
/** Where tests and the demo keep state; git-ignored. */
export const STATE_DIR_NAME = '.promote';
