import { rmSync } from 'node:fs';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { dirname, join, resolve } from 'node:path';
import { startDevServer } from '../server/dev-server.js';
import { startLocalCluster } from '../server/local-cluster.js';
import { connectClient, connectWorker } from '../worker/connection.js';
import { createPromoteWorker } from '../worker/create-worker.js';
import { startHealthServer } from '../worker/health.js';
import { workflowSource } from '../worker/bundle.js';
import { installWorkerRuntime, prometheusAddress, workerLog } from '../worker/runtime.js';
import { Runtime } from '@temporalio/worker';
import {
  deliveryMetricsSettingsFromEnv,
  startDeliveryMetrics,
  type DeliveryMetrics,
  type DeliveryMetricsSettings,
} from '../worker/delivery-metrics.js';
import { flushTracing, processTracing } from '../worker/tracing.js';
import { healthPort, workerSettingsFromEnv } from '../worker/settings.js';
import { ensureJanitorSchedule, janitorIntervalFromEnv } from '../worker/janitor-schedule.js';
import type { Client } from '@temporalio/client';
import { workerDeploymentFromEnv, WorkerDeploymentSettingError } from '../worker/versioning.js';
import { BadInputError } from '../common/errors.js';
import { workerTrustFromEnv, type WorkerTrust } from '../worker/trust.js';
import { defaultMaxCachedWorkflows, memoryLine, workerMemoryFromEnv } from '../worker/launch.js';

/** `promote dev` is a laptop's: Ctrl-C should not wait out a whole deploy budget. */
const DEV_SHUTDOWN_GRACE_MS = 30_000;

function logLine(message: string): void {
  workerLog(message);
}

/** Resolves on the first SIGINT or SIGTERM. */
function shutdownRequested(): Promise<string> {
  return new Promise((resolve) => {
    const handler = (signal: string) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

// The SDK's runtime would otherwise install its own signal handlers and stop workers on its own schedule;
// `promote dev` orders the shutdown itself: worker first (finishing its tasks), then the server.
function installRuntime(): void {
  installWorkerRuntime();
}

/** PROMOTE_WORKER_DEPLOYMENT / PROMOTE_WORKER_BUILD_ID, checked before anything starts (bad: exit 2). */
function deploymentFromEnv() {
  try {
    return workerDeploymentFromEnv();
  } catch (error) {
    if (error instanceof WorkerDeploymentSettingError) throw new BadInputError(error.message);
    throw error;
  }
}

/** The worker's version as a log line: operators copy the build id into `temporal worker deployment`. */
function versionLine(worker: { options: { workerDeploymentOptions?: WorkerDeploymentOptions } }): string {
  const options = worker.options.workerDeploymentOptions;
  if (!options?.useWorkerVersioning) return 'unversioned worker (PROMOTE_WORKER_DEPLOYMENT unset)';
  const { deploymentName, buildId } = options.version;
  return `worker deployment "${deploymentName}" build id "${buildId}" (promotions auto-upgrade, environment locks pinned)`;
}

/**
 * Reads what the worker trusts before anything starts (a bad setting stops it here) and says it in the
 * log. GIT_SSH_COMMAND would override the worker's own ssh command, which always checks host keys and
 * offers the key only to its hosts, so it is dropped.
 */
function startTrust(mode: 'worker' | 'dev'): WorkerTrust {
  const trust = workerTrustFromEnv(process.env, mode);
  for (const line of trust.summary) logLine(line);
  for (const name of ['GIT_SSH_COMMAND', 'GIT_SSH']) {
    if (process.env[name] === undefined) continue;
    logLine(
      `ignoring ${name}: the worker's git always checks host keys; set PROMOTE_GIT_SSH_KEY and PROMOTE_GIT_KNOWN_HOSTS`,
    );
    delete process.env[name];
  }
  return trust;
}

/** PROMOTE_JANITOR_INTERVAL_MS, checked before anything starts (bad: exit 2). */
function janitorInterval(): number {
  try {
    return janitorIntervalFromEnv();
  } catch (error) {
    throw new BadInputError((error as Error).message);
  }
}

/** PROMOTE_DELIVERY_METRICS_*, checked before anything starts (bad: exit 2). */
function deliveryMetricsSettings(): DeliveryMetricsSettings {
  try {
    return deliveryMetricsSettingsFromEnv();
  } catch (error) {
    throw new BadInputError((error as Error).message);
  }
}

/** `promote report`'s figures as gauges, when metrics are exported at all (PROMOTE_PROMETHEUS_ADDRESS). */
function startDelivery(client: Client, settings: DeliveryMetricsSettings): DeliveryMetrics | undefined {
  if (!prometheusAddress() || settings.intervalMs === 0) return undefined;
  logLine(
    `delivery metrics (promote_delivery_*) over the last ${settings.window}, refreshed every ${settings.intervalMs / 1000} s`,
  );
  return startDeliveryMetrics({ client, meter: Runtime.instance().metricMeter, settings, log: logLine });
}

/**
 * The janitor's schedule for this worker's task queue, created or brought to this interval. A worker
 * that cannot (no permission for schedules) still runs promotions, and says so loudly.
 */
async function startJanitor(client: Client, taskQueue: string, intervalMs: number): Promise<void> {
  try {
    const done = await ensureJanitorSchedule(client, { taskQueue, intervalMs });
    logLine(
      `janitor schedule ${done} (every ${intervalMs / 1000} s): proposals of ended promotions are cleaned`,
    );
  } catch (error) {
    logLine(
      `WARNING: could not create the janitor schedule (${String(error)}): proposals of terminated promotions stay until a worker can`,
    );
  }
}

/** PROMOTE_WORKER_HEAP_MB etc. (checked by the launcher, worker/launch.ts): the cache fits the heap. */
function cachedWorkflowsFromEnv(): number | undefined {
  try {
    return defaultMaxCachedWorkflows(workerMemoryFromEnv());
  } catch (error) {
    throw new BadInputError((error as Error).message);
  }
}

export async function runWorker(): Promise<void> {
  const deployment = deploymentFromEnv();
  const cachedWorkflows = cachedWorkflowsFromEnv();
  const janitorMs = janitorInterval();
  const delivery = deliveryMetricsSettings();
  const trust = startTrust('worker');
  installRuntime();
  const tracing = await processTracing('promote-worker', logLine);
  if (tracing) logLine('tracing: spans go to PROMOTE_OTLP_ENDPOINT (OTLP/HTTP)');
  const { connection, namespace } = await connectWorker();
  const client = await connectClient();
  const source = workflowSource();
  logLine(
    source.workflowBundle && 'codePath' in source.workflowBundle
      ? `workflow code from the bundle ${source.workflowBundle.codePath}`
      : 'bundling the workflow code (no pre-built bundle)',
  );
  const worker = await createPromoteWorker({
    connection,
    namespace,
    client,
    tracing,
    trust,
    ...workerSettingsFromEnv(),
    ...(deployment ? { deployment } : {}),
    maxCachedWorkflows: cachedWorkflows,
  });
  logLine(await memoryLine(worker.options.maxCachedWorkflows));
  logLine(versionLine(worker));
  logLine(`worker polling task queue "${worker.options.taskQueue}" in namespace "${namespace}"`);
  await startJanitor(client, worker.options.taskQueue, janitorMs);
  const port = healthPort();
  const health =
    port === undefined ? undefined : await startHealthServer(port, { state: () => worker.getState() });
  if (health) logLine(`health on :${health.port} (/healthz, /readyz)`);
  const running = worker.run();
  const metrics = startDelivery(client, delivery);
  const signal = await Promise.race([shutdownRequested(), running.then(() => 'worker stopped')]);
  logLine(`${signal}: stopping the worker…`);
  await metrics?.stop();
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running;
  await health?.close();
  await connection.close();
  await flushTracing();
}

export async function runDev(options: {
  port: number;
  uiPort: number;
  worker: boolean;
  dbFile: string;
  cluster?: boolean;
}): Promise<void> {
  const trust = options.worker ? startTrust('dev') : undefined;
  const janitorMs = janitorInterval();
  const delivery = deliveryMetricsSettings();
  installRuntime();
  const tracing = await processTracing('promote-worker', logLine);
  const dbFile = resolve(options.dbFile);
  // A throw-away control plane beside the state file: the same tooling as `npm run test:e2e`.
  const cluster = options.cluster ? await startDevCluster(dirname(dbFile)) : undefined;
  const server = await startDevServer({ port: options.port, uiPort: options.uiPort, dbFile, log: logLine });
  logLine(`Temporal dev server on ${server.address} (state in ${dbFile})`);
  logLine(`Web UI: ${server.uiUrl}`);
  let worker;
  let connection;
  let running: Promise<void> | undefined;
  let metrics: DeliveryMetrics | undefined;
  if (options.worker) {
    ({ connection } = await connectWorker({ address: server.address }));
    const client = await connectClient({ address: server.address });
    worker = await createPromoteWorker({
      connection,
      namespace: 'default',
      client,
      tracing,
      ...(trust ? { trust } : {}),
      ...workerSettingsFromEnv({ shutdownGraceMs: DEV_SHUTDOWN_GRACE_MS }),
      ...(cluster ? { deployEnv: cluster.env } : {}),
    });
    running = worker.run();
    await startJanitor(client, worker.options.taskQueue, janitorMs);
    metrics = startDelivery(client, delivery);
    logLine('worker running; Ctrl-C stops everything');
  }
  const reason = await Promise.race([
    shutdownRequested(),
    server.exited.then(() => 'server exited'),
    ...(running ? [running.then(() => 'worker stopped')] : []),
  ]);
  logLine(`${reason}: shutting down…`);
  await metrics?.stop();
  if (worker && worker.getState() === 'RUNNING') worker.shutdown();
  await running?.catch((error: unknown) => logLine(`worker: ${String(error)}`));
  await connection?.close();
  await server.stop();
  await cluster?.stop();
  await flushTracing();
  logLine('stopped');
}

async function startDevCluster(stateDir: string) {
  const dir = join(stateDir, 'cluster');
  rmSync(dir, { recursive: true, force: true });
  logLine('starting a local Kubernetes API server (the first run builds it from source: minutes)…');
  const cluster = await startLocalCluster({ dir, log: logLine });
  logLine(`Kubernetes API server on ${cluster.server}; KUBECONFIG=${cluster.kubeconfig}`);
  return cluster;
}
