import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  Runtime,
  DefaultLogger,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { Announcement, Notifier } from '../../activities/notifier.js';
import { SEARCH_ATTRIBUTES } from '../../common/search-attributes.js';
import { findTool, TEMPORAL_CLI } from '../../server/tools.js';
import { workflowBundleOptions } from '../../worker/bundle.js';
import { createPromoteWorker } from '../../worker/create-worker.js';
import type { GitHubFactory } from '../../activities/repository.js';

let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
}

export function temporalCli(): string {
  const path = findTool(TEMPORAL_CLI);
  if (!path)
    throw new Error('temporal CLI not found: run `npm test` (which installs it) or set TEMPORAL_CLI_PATH');
  return path;
}

let counter = 0;

/** Server arguments that suggest continue-as-new after `events` history events: a short run shows it. */
export function suggestContinueAsNewAfter(events: number): { extraArgs: string[] } {
  return { extraArgs: ['--dynamic-config-value', `limit.historyCount.suggestContinueAsNew=${events}`] };
}

export interface WorkerContext {
  taskQueue: string;
  announcements: Announcement[];
}

/** A real Temporal dev server (the project's own `temporal` binary) and a workflow bundle built once per file. */
export class TestTemporal {
  private constructor(
    readonly env: TestWorkflowEnvironment,
    readonly bundle: WorkflowBundleWithSourceMap,
  ) {}

  /** `extraArgs` go to `temporal server start-dev`, e.g. `--dynamic-config-value` for a server limit. */
  static async start(options: { extraArgs?: string[] } = {}): Promise<TestTemporal> {
    quietRuntime();
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalCli() },
        searchAttributes: [...SEARCH_ATTRIBUTES],
        ...(options.extraArgs ? { extraArgs: options.extraArgs } : {}),
      },
    });
    const bundle = await bundleWorkflowCode(workflowBundleOptions());
    return new TestTemporal(env, bundle);
  }

  get client() {
    return this.env.client;
  }

  get address(): string {
    return this.env.address;
  }

  /** Runs `fn` while a worker with its own task queue and repository cache serves promotions. */
  async withWorker<T>(
    fn: (ctx: WorkerContext) => Promise<T>,
    options: {
      deployGraceMs?: number;
      lockLeaseMs?: number;
      lockReassertMs?: number;
      lockDrainMs?: number;
      compensationRetryMs?: number;
      notifier?: Notifier;
      deployEnv?: Record<string, string>;
      github?: GitHubFactory;
      /** Serve this task queue (a worker brought back after a stop) instead of a new one. */
      taskQueue?: string;
      /** Leave the workflows running when this worker stops: a later worker serves them again. */
      keepWorkflows?: boolean;
    } = {},
  ): Promise<T> {
    const taskQueue = options.taskQueue ?? `test-${process.pid}-${++counter}`;
    const cacheDir = await mkdtemp(join(tmpdir(), 'promote-cache-'));
    const announcements: Announcement[] = [];
    const worker = await createPromoteWorker({
      connection: this.env.nativeConnection,
      client: this.env.client,
      lockLeaseMs: options.lockLeaseMs ?? 1_000,
      lockReassertMs: options.lockReassertMs ?? 3_000,
      lockDrainMs: options.lockDrainMs ?? 2_000,
      shutdownGraceMs: 1,
      namespace: this.env.namespace ?? 'default',
      taskQueue,
      cacheDir,
      workflowBundle: this.bundle,
      notifier: {
        announce: (a) => {
          announcements.push(a);
          return options.notifier ? options.notifier.announce(a) : Promise.resolve();
        },
      },
      deployGraceMs: options.deployGraceMs,
      deployEnv: options.deployEnv,
      ...(options.compensationRetryMs ? { compensationRetryMs: options.compensationRetryMs } : {}),
      ...(options.github ? { github: options.github } : {}),
    });
    try {
      return await worker.runUntil(async () => {
        try {
          return await fn({ taskQueue, announcements });
        } finally {
          if (!options.keepWorkflows) await this.endWorkflowsOn(taskQueue);
        }
      });
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  }

  /**
   * Tests own what they start: every workflow still running on the test's task queue (promotions a test
   * left waiting, their environment locks) is terminated, so no later test sees it in a list or a lock.
   * Visibility is eventually consistent, so this repeats until two reads in a row find nothing.
   */
  async endWorkflowsOn(taskQueue: string): Promise<void> {
    const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
    for (let quiet = 0; quiet < 2;) {
      let found = 0;
      for await (const execution of this.client.workflow.list({ query })) {
        found++;
        await this.client.workflow
          .getHandle(execution.workflowId, execution.runId)
          .terminate('test finished')
          .catch(() => undefined); // It ended by itself in the meantime.
      }
      quiet = found === 0 ? quiet + 1 : 0;
      if (found > 0 || quiet < 2) await new Promise((r) => setTimeout(r, 100));
    }
  }

  async teardown(): Promise<void> {
    await this.env.teardown();
  }
}
