import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Overview } from '../common/overview.js';
import { TIMEOUTS } from './timeouts.js';

const { readOverview } = proxyActivities<Activities>(TIMEOUTS.git);

/**
 * A short read-only run for `promote overview`: the worker holds the repository mirror and the
 * deploy credentials, so the matrix is read there, whether the repository is a path or a remote URL.
 */
export async function overview(input: { repo: string }): Promise<Overview> {
  return readOverview(input);
}
