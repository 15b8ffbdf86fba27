import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { workflowBundleOptions } from '../../worker/bundle.js';
import {
  startTimeSkippingServer,
  withTimeSkippingWorker,
  type TimeSkippingWorkerOptions,
} from './time-skipping-server.js';
import { useFixture } from './fixture.js';

/** A test file's time-skipping server and the workflow bundle built once for the file. */
export function useTimeSkipping(): {
  readonly env: TestWorkflowEnvironment;
  readonly bundle: WorkflowBundleWithSourceMap;
  /** {@link withTimeSkippingWorker} on this file's server. */
  withWorker<T>(taskQueue: string, fn: () => Promise<T>, options?: TimeSkippingWorkerOptions): Promise<T>;
} {
  // The server first, then the bundle (jest runs beforeAll hooks in order); only the server is stopped.
  const env = useFixture(
    async () => {
      Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
      return startTimeSkippingServer();
    },
    (e) => e.teardown(),
    { what: 'the time-skipping server' },
  );
  const bundle = useFixture(
    () => bundleWorkflowCode({ ...workflowBundleOptions(), logger: new DefaultLogger('ERROR') }),
    undefined,
    { what: 'the workflow bundle' },
  );
  return {
    get env(): TestWorkflowEnvironment {
      return env();
    },
    get bundle(): WorkflowBundleWithSourceMap {
      return bundle();
    },
    withWorker(taskQueue, fn, options) {
      return withTimeSkippingWorker(env(), bundle(), taskQueue, fn, options);
    },
  };
}
