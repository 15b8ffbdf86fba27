import { describe, expect, it } from '@jest/globals';
import { Client } from '@temporalio/client';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeliveryReport, Distribution } from '../client/report.js';
import { freePort } from '../server/ports.js';
import { startDeliveryMetrics } from '../worker/delivery-metrics.js';
import { promoteCli } from './support/cli.js';
import { sample, scrape } from './support/prometheus.js';
import { RecordingMeter } from './support/recording-meter.js';
import { TestRepo } from './support/repo.js';
import { createSourceRepo } from './support/source-repo.js';
import { useTemporal } from './support/suite.js';
import { useTempDirs } from './support/temp-dirs.js';
import { envStatus, eventually } from './support/wait.js';
import { WorkerProcess } from './support/worker-process.js';

const suite = useTemporal();
const tempDir = useTempDirs('promote-report-');
const HOUR = 3_600_000;

/**
 * A scripted history on its own server (one per test file, so visibility holds nothing else): every
 * figure of `promote report --json` is known from what the script did.
 */
describe('promote report', () => {
  it('reports the figures of a scripted history of promotions', async () => {
    const repo = await TestRepo.create({
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'prod', approval: 'manual', proposals: false, approvers: ['alice'] },
      ],
    });
    // p1's change was committed two hours before it was promoted (`--source`, read from the checkout).
    // Whole seconds: git keeps no more.
    const committedAt = Math.floor((Date.now() - 2 * HOUR) / 1000) * 1000;
    const source = await createSourceRepo(await tempDir(), new Date(committedAt));
    let seen: DeliveryReport | undefined;
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const cli = (args: string[]) => promoteCli(args, { address: suite.temporal.address, taskQueue });
      /** Runs one promotion (or rollback) through prod's approval; returns its wall-clock bounds. */
      const script = async (start: string[], decision: string[], code: number) => {
        const before = Date.now();
        const started = await cli([...start, '--repo', repo.url, '--json']);
        expect(started.code).toBe(0);
        const { id } = JSON.parse(started.stdout) as { id: string };
        await envStatus(suite.temporal.client, id, 'prod', 'waiting-approval');
        expect((await cli([...decision.slice(0, 1), id, ...decision.slice(1)])).code).toBe(0);
        expect((await cli(['watch', id])).code).toBe(code);
        return Date.now() - before;
      };
      const approve = ['approve', '--env', 'prod', '--as', 'alice'];
      const runs: number[] = [];
      const sourced = ['start', '--app', 'api=1.5.0', '--source', `api=${source.path}@${source.commit}`];
      runs.push(await script(sourced, approve, 0)); // p1 succeeds
      const p1Done = Date.now();
      runs.push(
        await script(
          ['start', '--app', 'api=1.6.0'],
          ['reject', '--env', 'prod', '--as', 'alice', '--reason', 'no'],
          1,
        ),
      ); // p2 rejected
      await repo.failApply('prod', 'cluster unreachable');
      const failedAt = Date.now();
      runs.push(await script(['start', '--app', 'api=1.7.0'], approve, 1)); // p3 fails, reverted
      await rm(join(repo.cluster, 'fail-apply-prod'));
      runs.push(await script(['start', '--app', 'api=1.8.0'], approve, 0)); // p4 succeeds: restores
      const restoredBy = Date.now();
      runs.push(await script(['rollback', '--env', 'prod', '--app', 'api'], approve, 0)); // r1 rolls p4 back

      // Visibility is eventually consistent: wait until all five runs are listed.
      const report = await eventually('the report to see five runs', async () => {
        const out = await cli(['report', '--since', '1d', '--json']);
        if (out.code !== 0) throw new Error(out.stderr);
        const r = JSON.parse(out.stdout) as DeliveryReport;
        return r.promotions + r.rollbacks === 5 ? r : undefined;
      });
      seen = report;
      expect(report).toMatchObject({ promotions: 4, rollbacks: 1, unreadable: 0 });
      expect(report.environments.map((e) => e.env)).toEqual(['dev', 'prod']);
      const [dev, prod] = report.environments;
      expect(dev).toMatchObject({
        deployments: 4,
        rollbacks: 0,
        changes: 4,
        failedChanges: 0,
        unrestored: 0,
      });
      expect(dev?.deploymentsPerDay).toBeCloseTo(4, 6);
      expect(dev?.approvalWait).toEqual({ count: 0 });
      // p1 and p4 applied prod; p3 was reverted; p4 was then rolled back; p2 never applied.
      expect(prod).toMatchObject({
        deployments: 2,
        rollbacks: 1,
        changes: 3,
        failedChanges: 2,
        unrestored: 0,
      });
      expect(prod?.changeFailureRate).toBeCloseTo(2 / 3, 9);
      expect(prod?.deploymentsPerDay).toBeCloseTo(2, 6);

      // Durations: bounded by what the script measured around each step.
      const longestRun = Math.max(...runs);
      // p4 from its start (seconds), p1 from its source commit: two hours and its run.
      expect(report.leadTime).toMatchObject({ count: 2, fromSource: 1, fromStart: 1 });
      expect(report.leadTime.medianMs).toBeGreaterThan(0);
      expect(report.leadTime.medianMs).toBeLessThanOrEqual(longestRun);
      expect(report.leadTime.p90Ms).toBeGreaterThan(2 * HOUR);
      expect(report.leadTime.p90Ms).toBeLessThanOrEqual(p1Done - committedAt);
      expect(prod?.timeToRestore.count).toBe(1);
      expect(prod?.timeToRestore.medianMs).toBeGreaterThan(0);
      expect(prod?.timeToRestore.medianMs).toBeLessThanOrEqual(restoredBy - failedAt);
      // Five decisions in prod (four promotions, one rollback), each within its run.
      expect(prod?.approvalWait.count).toBe(5);
      expect(prod?.approvalWait.p90Ms).toBeGreaterThan(0);
      expect(prod?.approvalWait.p90Ms).toBeLessThanOrEqual(longestRun);

      // The table and the filters.
      const table = await cli(['report', '--env', 'prod']);
      expect(table.code).toBe(0);
      expect(table.stdout).toContain('67% (2/3)');
      expect(table.stdout).toContain('4 promotions, 1 rollbacks');
      expect(table.stdout).not.toMatch(/^dev /m);
      const bad = await cli(['report', '--since', 'yesterday']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('invalid --since "yesterday"');
    });

    // No worker runs now: closed runs are read from their results, so the figures are the same.
    const out = await promoteCli(['report', '--since', '1d', '--json'], { address: suite.temporal.address });
    expect(out.code).toBe(0);
    const alone = JSON.parse(out.stdout) as DeliveryReport;
    expect(alone).toMatchObject({ promotions: 4, rollbacks: 1, unreadable: 0 });
    expect(alone.leadTime).toEqual(seen?.leadTime);
    expect(alone.environments.map(({ deploymentsPerDay: _, ...rest }) => rest)).toEqual(
      seen?.environments.map(({ deploymentsPerDay: _, ...rest }) => rest),
    );

    // The same figures as Prometheus gauges from a worker (which runs none of these promotions).
    await expectWorkerMetrics(alone);
  });

  it('refuses a bad refresh interval or window before the worker starts (exit 2)', async () => {
    for (const [name, value, message] of [
      ['PROMOTE_DELIVERY_METRICS_INTERVAL_MS', 'soon', 'must be a whole number of milliseconds'],
      ['PROMOTE_DELIVERY_METRICS_WINDOW', '2026-01-01', 'must be a length such as 30d, 12h or 45m'],
    ] as const) {
      const result = await promoteCli(['worker'], {
        address: suite.temporal.address,
        taskQueue: `never-polled-metrics-${process.pid}`,
        env: { [name]: value, PROMOTE_PROMETHEUS_ADDRESS: `127.0.0.1:${await freePort()}` },
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${name} must be`);
      expect(result.stderr).toContain(message);
      expect(result.stdout + result.stderr).not.toContain('worker polling');
    }
  });

  it('counts and logs a failed refresh, keeps going, and stops when asked', async () => {
    // A real server refusing the visibility query: the namespace does not exist.
    const client = new Client({
      connection: suite.temporal.client.connection,
      namespace: 'no-such-namespace',
    });
    const meter = new RecordingMeter();
    const logged: string[] = [];
    const metrics = startDeliveryMetrics({
      client,
      meter,
      settings: { intervalMs: 50, window: '1d', windowMs: 24 * HOUR },
      log: (line) => logged.push(line),
    });
    try {
      await eventually('two failed refreshes', () =>
        Promise.resolve(
          (meter.get('promote_delivery_refreshes_total', { outcome: 'failed' }) ?? 0) >= 2 ? true : undefined,
        ),
      );
    } finally {
      await metrics.stop();
    }
    expect(meter.get('promote_delivery_refreshes_total', { outcome: 'ok' })).toBeUndefined();
    expect(meter.get('promote_delivery_last_refresh_timestamp_seconds')).toBeUndefined();
    expect(logged[0]).toMatch(
      /^delivery metrics: refresh failed \(the gauges keep their last values\): .*no-such-namespace/,
    );
    const after = meter.get('promote_delivery_refreshes_total', { outcome: 'failed' });
    await new Promise((r) => setTimeout(r, 200));
    expect(meter.get('promote_delivery_refreshes_total', { outcome: 'failed' })).toBe(after);
  });
});

/** Scrapes a `promote worker`'s Prometheus endpoint until it shows the window's runs, then checks every figure. */
async function expectWorkerMetrics(report: DeliveryReport): Promise<void> {
  const metricsPort = await freePort();
  const worker = await WorkerProcess.start({
    TEMPORAL_ADDRESS: suite.temporal.address,
    PROMOTE_TASK_QUEUE: `metrics-only-${process.pid}`,
    PROMOTE_CACHE_DIR: join(await tempDir(), 'cache'),
    PROMOTE_SHUTDOWN_GRACE_MS: '5000',
    PROMOTE_PROMETHEUS_ADDRESS: `127.0.0.1:${metricsPort}`,
    PROMOTE_DELIVERY_METRICS_INTERVAL_MS: '500',
    PROMOTE_DELIVERY_METRICS_WINDOW: '1d',
  });
  try {
    const text = await eventually('the delivery metrics', async () => {
      const t = await scrape(metricsPort);
      return sample(t, 'promote_delivery_runs', { kind: 'rollback' }) === 1 ? t : undefined;
    });
    expect(worker.log).toContain(
      'delivery metrics (promote_delivery_*) over the last 1d, refreshed every 0.5 s',
    );
    const value = (name: string, labels: Record<string, string> = {}) => {
      const v = sample(text, name, labels);
      if (v === undefined) throw new Error(`no ${name}${JSON.stringify(labels)} in:\n${text}`);
      return v;
    };
    /** Quantiles in seconds; NaN where the report has none. */
    const expectDistribution = (name: string, d: Distribution, labels: Record<string, string>) => {
      for (const [quantile, ms] of [
        ['0.5', d.medianMs],
        ['0.9', d.p90Ms],
      ] as const) {
        const v = value(name, { ...labels, quantile });
        if (ms === undefined) expect(v).toBeNaN();
        else expect(v).toBeCloseTo(ms / 1000, 6);
      }
    };
    expect(value('promote_delivery_window_seconds')).toBe(86_400);
    expect(value('promote_delivery_runs', { kind: 'promotion' })).toBe(report.promotions);
    expect(value('promote_delivery_unreadable_runs')).toBe(report.unreadable);
    expect(value('promote_delivery_truncated')).toBe(0);
    expectDistribution('promote_delivery_lead_time_seconds', report.leadTime, {});
    expect(value('promote_delivery_lead_time_promotions', { from: 'source' })).toBe(1);
    expect(value('promote_delivery_lead_time_promotions', { from: 'start' })).toBe(1);
    for (const e of report.environments) {
      const env = { env: e.env };
      expect(value('promote_delivery_deployments', env)).toBe(e.deployments);
      expect(value('promote_delivery_deployments_per_day', env)).toBeCloseTo(e.deploymentsPerDay, 9);
      expect(value('promote_delivery_rollbacks', env)).toBe(e.rollbacks);
      expect(value('promote_delivery_changes', env)).toBe(e.changes);
      expect(value('promote_delivery_failed_changes', env)).toBe(e.failedChanges);
      expect(value('promote_delivery_change_failure_ratio', env)).toBeCloseTo(e.changeFailureRate ?? NaN, 9);
      expectDistribution('promote_delivery_time_to_restore_seconds', e.timeToRestore, env);
      expect(value('promote_delivery_restores', env)).toBe(e.timeToRestore.count);
      expect(value('promote_delivery_unrestored_failures', env)).toBe(e.unrestored);
      expectDistribution('promote_delivery_approval_wait_seconds', e.approvalWait, env);
      expect(value('promote_delivery_approval_waits', env)).toBe(e.approvalWait.count);
    }
    expect(value('promote_delivery_refreshes_total', { outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'promote_delivery_refreshes_total', { outcome: 'failed' })).toBeUndefined();
  } finally {
    await worker.stop();
  }
}
