import { afterAll, beforeAll } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../worker/create-worker.js';
import {
  startTimeSkippingServer,
  withTimeSkippingWorker,
  type TimeSkippingWorkerOptions,
} from './time-skipping-server.js';

/** A test file's time-skipping server and the workflow bundle built once for the file. */
export function useTimeSkipping(): {
  readonly env: TestWorkflowEnvironment;
  readonly bundle: WorkflowBundleWithSourceMap;
  /** {@link withTimeSkippingWorker} on this file's server. */
  withWorker<T>(taskQueue: string, fn: () => Promise<T>, options?: TimeSkippingWorkerOptions): Promise<T>;
} {
  let env: TestWorkflowEnvironment | undefined;
  let bundle: WorkflowBundleWithSourceMap | undefined;
  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
    env = await startTimeSkippingServer();
    bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('ERROR') });
  });
  afterAll(async () => {
    await env?.teardown();
  });
  return {
    get env(): TestWorkflowEnvironment {
      if (!env) throw new Error('the time-skipping server is not started yet');
      return env;
    },
    get bundle(): WorkflowBundleWithSourceMap {
      if (!bundle) throw new Error('the workflow bundle is not built yet');
      return bundle;
    },
    withWorker(taskQueue, fn, options) {
      if (!env || !bundle) throw new Error('the time-skipping server is not started yet');
      return withTimeSkippingWorker(env, bundle, taskQueue, fn, options);
    },
  };
}
