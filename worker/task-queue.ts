import { DEFAULT_TASK_QUEUE } from '../common/constants.js';

export function taskQueue(): string {
  return process.env.PROMOTE_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
}
