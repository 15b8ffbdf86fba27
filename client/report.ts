import type { DeliveryReport, Distribution } from '../common/delivery-report.js';

/*
 * `promote report`'s table. The figures are computed in common/delivery-report.ts (shared with the
 * worker's Prometheus metrics); they are re-exported here for the CLI and its tests.
 */
export {
  computeReport,
  distribution,
  parseSince,
  type DeliveryReport,
  type Distribution,
  type EnvironmentReport,
  type LeadTime,
  type ReportInput,
} from '../common/delivery-report.js';

function duration(value: number | undefined): string {
  if (value === undefined) return '-';
  const s = Math.round(value / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return s < 172_800 ? `${(s / 3600).toFixed(1)}h` : `${(s / 86_400).toFixed(1)}d`;
}

function dist(d: Distribution): string {
  return d.count === 0 ? '-' : `${duration(d.medianMs)} / ${duration(d.p90Ms)}`;
}

/** How many promotions the lead time covers, and how many of them had no source commit time. */
function leadCount(report: DeliveryReport): string {
  const { count, fromStart } = report.leadTime;
  if (!fromStart) return `${count} promotions`;
  return `${count} promotions; ${fromStart} measured from the promotion start: no --source commit time`;
}

export function renderReport(report: DeliveryReport): string {
  const header = [
    'env',
    'deploys',
    'per day',
    'rollbacks',
    'fail rate',
    'restore p50/p90',
    'approval p50/p90',
  ];
  const rows = report.environments.map((e) => [
    e.env,
    String(e.deployments),
    e.deploymentsPerDay.toFixed(2),
    String(e.rollbacks),
    e.changeFailureRate === undefined
      ? '-'
      : `${Math.round(e.changeFailureRate * 100)}% (${e.failedChanges}/${e.changes})`,
    dist(e.timeToRestore) + (e.unrestored ? ` (+${e.unrestored} open)` : ''),
    dist(e.approvalWait),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    `${report.since} .. ${report.until} (${report.days.toFixed(1)} days): ${report.promotions} promotions, ${report.rollbacks} rollbacks` +
      (report.unreadable ? `, ${report.unreadable} unreadable` : ''),
    `lead time to last environment p50/p90: ${dist(report.leadTime)} (${leadCount(report)})`,
    '',
    line(header),
    ...rows.map(line),
  ].join('\n');
}
