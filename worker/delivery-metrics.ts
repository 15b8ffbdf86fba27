import type { Client } from '@temporalio/client';
import type { MetricGauge, MetricMeter, MetricTags } from '@temporalio/common';
import { readReport } from '../activities/delivery-report.js';
import { redact } from '../activities/redact.js';
import {
  parseWindow,
  type DeliveryReport,
  type Distribution,
  type EnvironmentReport,
} from '../common/delivery-report.js';
import type { PromotionState } from '../common/types.js';

/*
 * `promote report`'s figures as Prometheus gauges from the worker (docs/report.md, "Prometheus"):
 * computed by the same code from the same sources (Temporal visibility and the runs' recorded states),
 * refreshed on an interval over a rolling window. One refresh at a time; a failed one is logged and
 * counted and the gauges keep their last values; nothing here can stop the worker.
 */

export const DEFAULT_DELIVERY_METRICS_INTERVAL_MS = 5 * 60_000;
export const DEFAULT_DELIVERY_METRICS_WINDOW = '30d';
/** A refresh reads at most this many runs (the newest): bounds its cost on a busy namespace. */
export const DELIVERY_METRICS_MAX_RUNS = 5_000;

export interface DeliveryMetricsSettings {
  /** 0: off. */
  intervalMs: number;
  window: string;
  windowMs: number;
}

/**
 * PROMOTE_DELIVERY_METRICS_INTERVAL_MS (a whole number of milliseconds, 0 = off) and
 * PROMOTE_DELIVERY_METRICS_WINDOW (`30d`, `12h`, `45m`). Read before the worker starts: a bad value
 * stops it with this message (exit 2).
 */
export function deliveryMetricsSettingsFromEnv(env = process.env): DeliveryMetricsSettings {
  const rawInterval = env.PROMOTE_DELIVERY_METRICS_INTERVAL_MS;
  let intervalMs = DEFAULT_DELIVERY_METRICS_INTERVAL_MS;
  if (rawInterval !== undefined && rawInterval !== '') {
    intervalMs = Number(rawInterval);
    if (!Number.isInteger(intervalMs) || intervalMs < 0)
      throw new Error(
        `PROMOTE_DELIVERY_METRICS_INTERVAL_MS must be a whole number of milliseconds (0 turns the delivery metrics off), not ${JSON.stringify(rawInterval)}`,
      );
  }
  const window = env.PROMOTE_DELIVERY_METRICS_WINDOW || DEFAULT_DELIVERY_METRICS_WINDOW;
  const windowMs = parseWindow(window);
  if (windowMs === undefined)
    throw new Error(
      `PROMOTE_DELIVERY_METRICS_WINDOW must be a length such as 30d, 12h or 45m, not ${JSON.stringify(window)}`,
    );
  return { intervalMs, window, windowMs };
}

const QUANTILES = [
  ['0.5', 'medianMs'],
  ['0.9', 'p90Ms'],
] as const;

/** The gauges, set from one report. Environments seen before but absent now read 0 (and NaN quantiles). */
export class DeliveryGauges {
  private readonly gauges;
  private readonly envs = new Set<string>();

  constructor(meter: MetricMeter) {
    const gauge = (name: string, description: string, unit = '1') =>
      meter.createGauge(name, 'float', unit, description);
    this.gauges = {
      window: gauge(
        'promote_delivery_window_seconds',
        'length of the window the delivery metrics cover',
        's',
      ),
      runs: gauge('promote_delivery_runs', 'promotions and rollbacks started in the window, by kind'),
      unreadable: gauge('promote_delivery_unreadable_runs', 'runs whose state could not be read'),
      truncated: gauge('promote_delivery_truncated', '1 when the refresh stopped at its limit of runs'),
      leadTime: gauge(
        'promote_delivery_lead_time_seconds',
        'source commit (or promotion start) to production, by quantile',
        's',
      ),
      leadTimes: gauge('promote_delivery_lead_time_promotions', 'promotions measured, by where from'),
      deployments: gauge('promote_delivery_deployments', 'promotions applied successfully, by env'),
      perDay: gauge('promote_delivery_deployments_per_day', 'deployment frequency, by env'),
      rollbacks: gauge('promote_delivery_rollbacks', 'succeeded rollbacks, by env'),
      changes: gauge('promote_delivery_changes', 'promotions applied (succeeded or not), by env'),
      failed: gauge('promote_delivery_failed_changes', 'changes that failed or were rolled back, by env'),
      failureRatio: gauge('promote_delivery_change_failure_ratio', 'failed_changes / changes, by env'),
      restore: gauge('promote_delivery_time_to_restore_seconds', 'time to restore, by env and quantile', 's'),
      restores: gauge('promote_delivery_restores', 'failures restored in the window, by env'),
      unrestored: gauge('promote_delivery_unrestored_failures', 'failures not restored yet, by env'),
      approvalWait: gauge(
        'promote_delivery_approval_wait_seconds',
        'approval wait, by env and quantile',
        's',
      ),
      approvalWaits: gauge('promote_delivery_approval_waits', 'approval waits measured, by env'),
    };
  }

  set(report: DeliveryReport, windowMs: number): void {
    const g = this.gauges;
    g.window.set(windowMs / 1000);
    g.runs.set(report.promotions, { kind: 'promotion' });
    g.runs.set(report.rollbacks, { kind: 'rollback' });
    g.unreadable.set(report.unreadable);
    g.truncated.set(report.truncated ? 1 : 0);
    setDistribution(g.leadTime, report.leadTime, {});
    g.leadTimes.set(report.leadTime.fromSource, { from: 'source' });
    g.leadTimes.set(report.leadTime.fromStart, { from: 'start' });
    const present = new Set(report.environments.map((e) => e.env));
    for (const env of this.envs) if (!present.has(env)) this.setEnvironment(emptyEnvironment(env));
    for (const e of report.environments) {
      this.envs.add(e.env);
      this.setEnvironment(e);
    }
  }

  private setEnvironment(e: EnvironmentReport): void {
    const g = this.gauges;
    const env = { env: e.env };
    g.deployments.set(e.deployments, env);
    g.perDay.set(e.deploymentsPerDay, env);
    g.rollbacks.set(e.rollbacks, env);
    g.changes.set(e.changes, env);
    g.failed.set(e.failedChanges, env);
    g.failureRatio.set(e.changeFailureRate ?? Number.NaN, env);
    setDistribution(g.restore, e.timeToRestore, env);
    g.restores.set(e.timeToRestore.count, env);
    g.unrestored.set(e.unrestored, env);
    setDistribution(g.approvalWait, e.approvalWait, env);
    g.approvalWaits.set(e.approvalWait.count, env);
  }
}

/** Quantiles in seconds; NaN when nothing was measured (Prometheus' convention for an empty summary). */
function setDistribution(gauge: MetricGauge, d: Distribution, tags: MetricTags): void {
  for (const [quantile, field] of QUANTILES) {
    const value = d[field];
    gauge.set(value === undefined ? Number.NaN : value / 1000, { ...tags, quantile });
  }
}

function emptyEnvironment(env: string): EnvironmentReport {
  return {
    env,
    deployments: 0,
    deploymentsPerDay: 0,
    rollbacks: 0,
    changes: 0,
    failedChanges: 0,
    timeToRestore: { count: 0 },
    unrestored: 0,
    approvalWait: { count: 0 },
  };
}

export interface DeliveryMetrics {
  /** Stops refreshing; waits (briefly) for a refresh under way to end. */
  stop(): Promise<void>;
}

/** How long stop() waits for a refresh under way: it is aborted between runs, so this is one run's read. */
const STOP_WAIT_MS = 10_000;

/**
 * Refreshes the gauges now and then every `intervalMs` after the previous refresh ended (never two
 * at once). Closed runs' states are kept between refreshes (they never change), so a refresh reads
 * the visibility list and the running runs only.
 */
export function startDeliveryMetrics(options: {
  client: Client;
  meter: MetricMeter;
  settings: DeliveryMetricsSettings;
  log: (message: string) => void;
}): DeliveryMetrics {
  const { client, settings, log } = options;
  const gauges = new DeliveryGauges(options.meter);
  const refreshes = options.meter.createCounter(
    'promote_delivery_refreshes_total',
    '1',
    'delivery metrics refreshes, by outcome (ok, failed)',
  );
  const lastRefresh = options.meter.createGauge(
    'promote_delivery_last_refresh_timestamp_seconds',
    'float',
    's',
    'when the delivery metrics were last refreshed successfully (Unix time)',
  );
  const closedStates = new Map<string, PromotionState>();
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const refresh = async () => {
    try {
      const now = new Date();
      const report = await readReport(client, {
        since: new Date(now.getTime() - settings.windowMs),
        now,
        maxRuns: DELIVERY_METRICS_MAX_RUNS,
        signal: abort.signal,
        closedStates,
      });
      gauges.set(report, settings.windowMs);
      lastRefresh.set(Date.now() / 1000);
      refreshes.add(1, { outcome: 'ok' });
      if (report.truncated)
        log(
          `delivery metrics: more than ${DELIVERY_METRICS_MAX_RUNS} runs in the last ${settings.window}; the figures cover the newest`,
        );
    } catch (error) {
      if (abort.signal.aborted) return;
      refreshes.add(1, { outcome: 'failed' });
      log(`delivery metrics: refresh failed (the gauges keep their last values): ${redact(String(error))}`);
    }
  };
  const tick = () => {
    running = refresh().finally(() => {
      running = undefined;
      if (!abort.signal.aborted) timer = setTimeout(tick, settings.intervalMs).unref();
    });
  };
  tick();
  return {
    async stop() {
      abort.abort();
      clearTimeout(timer);
      if (running) await Promise.race([running, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    },
  };
}
