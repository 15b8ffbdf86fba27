import { DefaultLogger, Runtime, type RuntimeOptions } from '@temporalio/worker';
import { redact } from '../activities/redact.js';
import { JsonLogger, jsonLogs, redactedTextLog } from './logging.js';

/** PROMOTE_PROMETHEUS_ADDRESS (e.g. 0.0.0.0:9464): serve the Temporal runtime's and the promotion metrics. */
export function prometheusAddress(value = process.env.PROMOTE_PROMETHEUS_ADDRESS): string | undefined {
  if (!value) return undefined;
  if (!/^[^\s:]*:\d{1,5}$/.test(value) && !/^\[[0-9a-f:]+\]:\d{1,5}$/i.test(value))
    throw new Error(
      `PROMOTE_PROMETHEUS_ADDRESS=${JSON.stringify(value)} must be host:port, e.g. 0.0.0.0:9464`,
    );
  return value;
}

/** Steps last from a second (a bump) to days (an approval): seconds, not the runtime's millisecond buckets. */
const BUCKETS = {
  promote_step_duration: [0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 72 * 3600],
};

/**
 * The process-wide Temporal runtime of `promote worker` / `promote dev`: JSON or plain logs, and
 * Prometheus metrics when asked for. Signal handling stays with Promote, which orders the shutdown.
 */
export function installWorkerRuntime(): void {
  const bindAddress = prometheusAddress();
  const options: RuntimeOptions = {
    shutdownSignals: [],
    logger: jsonLogs() ? new JsonLogger('INFO') : new DefaultLogger('INFO', redactedTextLog()),
    ...(bindAddress
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress, histogramBucketOverrides: BUCKETS } } } }
      : {}),
  };
  Runtime.install(options);
}

/** A line about the worker itself, in the same format as the runtime's. */
export function workerLog(message: string, meta: Record<string, unknown> = {}): void {
  if (jsonLogs()) new JsonLogger('INFO').info(message, { component: 'promote', ...meta });
  else process.stderr.write(`[promote] ${redact(message)}\n`);
}
