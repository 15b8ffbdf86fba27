import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import {
  Worker,
  type NativeConnection,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { getStatus } from '../activities/promotion-status.js';
import { createActivities } from '../activities/index.js';
import type { Notifier } from '../activities/notifier.js';
import { RepositoryCache, type GitHubFactory } from '../activities/repository.js';
import { GitHubRepository, gitHubAuthFromEnv } from '../activities/providers/github.js';
import {
  DEPLOY_HEARTBEAT_TIMEOUT_MS,
  DEPLOY_RETRY_INTERVAL_MS,
  HEARTBEAT_THROTTLE_MS,
} from '../common/constants.js';
import { createNotifier } from './notifier.js';
import { redactFailures } from './redact-failures.js';
import { DEPLOY_BUDGET_MS } from './settings.js';
import { taskQueue } from './task-queue.js';
import { workerTrustFromEnv, type WorkerTrust } from './trust.js';
import { bundledSource, workflowSource } from './bundle.js';
import { defaultBuildId, workerDeploymentOptions, type WorkerDeployment } from './versioning.js';
import type { Tracing } from './tracing.js';

export { WORKFLOWS_PATH } from './bundle.js';

export interface PromoteWorkerOptions {
  connection: NativeConnection;
  /** A client of the same namespace: activities use it for environment locks and past promotions. */
  client: Client;
  namespace: string;
  taskQueue?: string;
  /** Where this worker keeps its deployment repository mirrors. */
  cacheDir?: string;
  notifier?: Notifier;
  /** Builds GitHub API clients for `github:owner/repo` repositories (default: from GITHUB_TOKEN or app env). */
  github?: GitHubFactory;
  /** A pre-built bundle (tests build it once); by default the worker bundles the workflows itself. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  deployGraceMs?: number;
  /** Extra environment for helm/helmfile (e.g. KUBECONFIG of a local cluster). */
  deployEnv?: Record<string, string>;
  lockLeaseMs?: number;
  lockReassertMs?: number;
  lockDrainMs?: number;
  /** How long compensation retries before the environment ends `compensation-failed`. */
  compensationRetryMs?: number;
  lockIdleMs?: number;
  /** How long a stopping worker lets running activities finish (see worker/settings.ts). */
  shutdownGraceMs?: number;
  /** OpenTelemetry tracing (worker/tracing.ts `processTracing`); off when undefined. */
  tracing?: Tracing;
  /** The repositories it runs and where its credentials go (default: a production worker's, from the environment). */
  trust?: WorkerTrust;
  /** Run as a version of this Worker Deployment (worker/versioning.ts); unversioned when undefined. */
  deployment?: WorkerDeployment;
  /**
   * The workflow cache when PROMOTE_MAX_CACHED_WORKFLOWS is unset: `promote worker` sizes it to its heap
   * limit (worker/launch.ts); undefined, the SDK's default.
   */
  maxCachedWorkflows?: number;
}

/**
 * PROMOTE_MAX_CACHED_WORKFLOWS: how many workflows a worker keeps in memory between tasks (each holds
 * about 115 KiB of the workflow thread's heap, measured in issue 21: docs/performance.md). Unset, the
 * SDK's default scales with the heap (about 2,300 on a 4 GB heap). A lower cap bounds the worker's
 * memory; an evicted workflow is replayed from its history when it next has work, which costs CPU.
 */
function maxCachedWorkflows(fallback: number | undefined): number | undefined {
  const value = Number(process.env.PROMOTE_MAX_CACHED_WORKFLOWS);
  return Number.isInteger(value) && value >= 2 ? value : fallback;
}

export function defaultCacheDir(): string {
  return (
    process.env.PROMOTE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'promote')
  );
}

/** GitHub access from the worker's environment, if it has credentials for it. */
function gitHubFromEnv(
  author: { name: string; email: string },
  baseUrl: string | undefined,
): GitHubFactory | undefined {
  const auth = gitHubAuthFromEnv();
  if (!auth) return undefined;
  return (spec) => new GitHubRepository({ ...spec, ...(baseUrl ? { baseUrl } : {}) }, auth, { author });
}

/**
 * The worker always starts from a bundle: a source without one is bundled now, in a thread of its own
 * (the SDK would bundle it on the main thread, whose heap would keep webpack's memory for the worker's
 * life). A versioned worker's build id names that code. The interceptor modules are inside the bundle.
 */
async function versionedSource(
  plain: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'interceptors'>,
  deployment: WorkerDeployment | undefined,
): Promise<{
  source: Pick<WorkerOptions, 'workflowBundle' | 'interceptors'>;
  versioning: Pick<WorkerOptions, 'workerDeploymentOptions'>;
}> {
  const source = plain.workflowBundle && !deployment ? plain : await bundledSource(plain);
  if (!deployment) return { source, versioning: {} };
  const { workflowBundle } = await bundledSource(source);
  const buildId = deployment.buildId ?? defaultBuildId(workflowBundle.code);
  return {
    source: { workflowBundle },
    versioning: { workerDeploymentOptions: workerDeploymentOptions(deployment, buildId) },
  };
}

export async function createPromoteWorker(options: PromoteWorkerOptions): Promise<Worker> {
  // A retried apply must start only after a lost attempt's command has ended (docs/operations.md).
  if (
    options.deployGraceMs !== undefined &&
    DEPLOY_HEARTBEAT_TIMEOUT_MS + options.deployGraceMs >= DEPLOY_RETRY_INTERVAL_MS
  )
    throw new Error(
      `deployGraceMs (${options.deployGraceMs}) must be below ${DEPLOY_RETRY_INTERVAL_MS - DEPLOY_HEARTBEAT_TIMEOUT_MS} ms: a deploy retry waits ${DEPLOY_RETRY_INTERVAL_MS} ms, which must cover the heartbeat timeout plus the grace`,
    );
  const identity = {
    name: process.env.PROMOTE_GIT_NAME ?? 'Promote',
    email: process.env.PROMOTE_GIT_EMAIL ?? 'promote@localhost',
  };
  const trust = options.trust ?? workerTrustFromEnv();
  const cache = new RepositoryCache(
    options.cacheDir ?? defaultCacheDir(),
    identity,
    trust.gitAuth,
    options.github ?? gitHubFromEnv(identity, trust.gitHubApiUrl),
    trust.allowed,
  );
  const activities = createActivities({
    cache,
    notifier: options.notifier ?? createNotifier(options.namespace),
    client: options.client,
    promotionStatus: (id) => getStatus(options.client, id).catch(() => undefined),
    deployGraceMs: options.deployGraceMs,
    deployEnv: options.deployEnv,
    lockLeaseMs: options.lockLeaseMs,
    lockReassertMs: options.lockReassertMs,
    lockDrainMs: options.lockDrainMs,
    compensationRetryMs: options.compensationRetryMs,
    lockIdleMs: options.lockIdleMs,
  });
  const plain = options.workflowBundle
    ? { workflowBundle: options.workflowBundle }
    : workflowSource(undefined, options.tracing !== undefined);
  const { source, versioning } = await versionedSource(plain, options.deployment);
  const { tracing } = options;
  const cached = maxCachedWorkflows(options.maxCachedWorkflows);
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? taskQueue(),
    activities,
    shutdownGraceTime: options.shutdownGraceMs ?? DEPLOY_BUDGET_MS,
    // A cancel reaches a running deploy command within seconds, not within 80% of its heartbeat timeout.
    maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE_MS,
    ...(cached ? { maxCachedWorkflows: cached } : {}),
    ...source,
    ...versioning,
    // The failure redaction last, innermost: tracing and the runtime's log see what it leaves.
    interceptors: {
      ...source.interceptors,
      activity: [...(tracing?.activityInterceptors ?? []), redactFailures],
    },
    ...(tracing ? { sinks: tracing.sinks } : {}),
  });
}
