import { describe, expect, it } from '@jest/globals';
import { computeReport, distribution, parseSince, renderReport } from '../client/report.js';
import type { EnvironmentState, PromotionState } from '../common/types.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function env(
  name: string,
  status: EnvironmentState['status'],
  start: number,
  end?: number,
  extra: Partial<EnvironmentState> = {},
): EnvironmentState {
  return {
    name,
    status,
    approval: 'auto',
    startedAt: at(start),
    ...(end === undefined ? {} : { finishedAt: at(end) }),
    ...extra,
  };
}

function run(
  id: string,
  kind: PromotionState['kind'],
  status: PromotionState['status'],
  start: number,
  environments: EnvironmentState[],
): PromotionState {
  return {
    id,
    kind,
    status,
    repo: 'r',
    apps: [],
    environments,
    startedAt: at(start),
    finishedAt: at(start + 100),
  };
}

const manual = (decidedAt: number) => ({
  approval: 'manual' as const,
  decision: { approved: true, by: 'carol', at: at(decidedAt) },
});

/** A hand-made week: two good promotions, one rejected, one failed in prod then fixed forward, one rolled back. */
const history: PromotionState[] = [
  run('p1', 'promotion', 'succeeded', 0, [
    env('dev', 'succeeded', 0, 2),
    env('prod', 'succeeded', 2, 10, manual(7)),
  ]),
  run('p2', 'promotion', 'rejected', 100, [
    env('dev', 'succeeded', 100, 101),
    env('prod', 'rejected', 101, 104, {
      approval: 'manual',
      decision: { approved: false, by: 'dan', at: at(104) },
    }),
  ]),
  run('p3', 'promotion', 'failed', 200, [
    env('dev', 'succeeded', 200, 201),
    env('prod', 'reverted', 201, 210, manual(203)),
  ]),
  run('p4', 'promotion', 'succeeded', 300, [
    env('dev', 'succeeded', 300, 302),
    env('prod', 'succeeded', 302, 330, manual(320)),
  ]),
  run('r1', 'rollback', 'succeeded', 400, [env('prod', 'succeeded', 400, 405)]),
];
/** Newest first, as visibility lists them. */
const states = [...history].reverse();

describe('report computation', () => {
  const report = computeReport({ states, since: new Date(T0), until: new Date(T0 + 7 * 86_400_000) });
  const prod = report.environments.find((e) => e.env === 'prod')!;
  const dev = report.environments.find((e) => e.env === 'dev')!;

  it('counts deployments per environment and per day', () => {
    expect(report).toMatchObject({ days: 7, promotions: 4, rollbacks: 1, unreadable: 0 });
    expect(report.environments.map((e) => e.env)).toEqual(['dev', 'prod']);
    expect(dev).toMatchObject({
      deployments: 4,
      deploymentsPerDay: 4 / 7,
      changes: 4,
      failedChanges: 0,
      changeFailureRate: 0,
    });
    expect(prod).toMatchObject({ deployments: 2, deploymentsPerDay: 2 / 7, rollbacks: 1 });
  });

  it('counts a failed apply and a rolled-back success as failed changes, not a rejection', () => {
    // p1 ok, p3 reverted, p4 ok then rolled back by r1; p2 never applied prod.
    expect(prod).toMatchObject({ changes: 3, failedChanges: 2, changeFailureRate: 2 / 3, unrestored: 0 });
  });

  it('measures restore, lead time and approval waits', () => {
    // p3 failed at 210; p4 succeeded at 330: 120 minutes.
    expect(prod.timeToRestore).toEqual({ count: 1, medianMs: 120 * 60_000, p90Ms: 120 * 60_000 });
    // p1: 10 min, p4: 30 min (start to prod success); nearest rank median of two is the lower.
    expect(report.leadTime).toEqual({
      count: 2,
      medianMs: 10 * 60_000,
      p90Ms: 30 * 60_000,
      fromSource: 0,
      fromStart: 2,
    });
    // Waits from prod start to decision: p1 5, p2 3, p3 2, p4 18 minutes.
    expect(prod.approvalWait).toEqual({ count: 4, medianMs: 3 * 60_000, p90Ms: 18 * 60_000 });
    expect(dev.approvalWait).toEqual({ count: 0 });
  });

  it('filters to one environment and renders a table', () => {
    const only = computeReport({
      states,
      since: new Date(T0),
      until: new Date(T0 + 86_400_000),
      env: 'prod',
    });
    expect(only.environments.map((e) => e.env)).toEqual(['prod']);
    const text = renderReport(only);
    expect(text).toContain('67% (2/3)');
    expect(text).toContain(
      'lead time to last environment p50/p90: 10m / 30m (2 promotions; 2 measured from the promotion start: no --source commit time)',
    );
  });

  it('measures lead time from the earliest source commit time recorded at start (--source)', () => {
    const withSource = (state: PromotionState, committed: (number | undefined)[]): PromotionState => ({
      ...state,
      apps: committed.map((minutes, i) => ({
        app: `a${i}`,
        tag: '1.0.0',
        source: {
          repo: 'https://git.example.com/a',
          ref: 'abc',
          ...(minutes === undefined ? {} : { committedAt: at(minutes) }),
        },
      })),
    });
    // p1 carries two apps committed 50 and 20 minutes before its start (and one without a time):
    // the oldest change counts, 50 + 10 minutes. p4 has no source time: from its start, 30 minutes.
    // A commit time after the start (a clock ahead) counts from the start.
    const sourced = history.map((s) =>
      s.id === 'p1' ? withSource(s, [-20, -50, undefined]) : s.id === 'p3' ? withSource(s, [250]) : s,
    );
    const r = computeReport({ states: sourced, since: new Date(T0), until: new Date(T0 + 86_400_000) });
    expect(r.leadTime).toEqual({
      count: 2,
      medianMs: 30 * 60_000,
      p90Ms: 60 * 60_000,
      fromSource: 1,
      fromStart: 1,
    });
    const clockAhead = history.map((s) => (s.id === 'p4' ? withSource(s, [400]) : s));
    expect(
      computeReport({ states: clockAhead, since: new Date(T0), until: new Date(T0 + 86_400_000) }).leadTime,
    ).toEqual({ count: 2, medianMs: 10 * 60_000, p90Ms: 30 * 60_000, fromSource: 1, fromStart: 1 });
    expect(renderReport(r)).toContain(
      'lead time to last environment p50/p90: 30m / 60m (2 promotions; 1 measured from the promotion start: no --source commit time)',
    );
  });

  it('counts a failure with no later success as unrestored', () => {
    const open = computeReport({
      states: history.slice(0, 3),
      since: new Date(T0),
      until: new Date(T0 + 86_400_000),
    });
    const p = open.environments.find((e) => e.env === 'prod')!;
    expect(p).toMatchObject({ failedChanges: 1, unrestored: 1, timeToRestore: { count: 0 } });
  });

  it('takes nearest-rank percentiles', () => {
    expect(distribution([5, 1, 3, 2, 4, 6, 7, 8, 9, 10])).toEqual({ count: 10, medianMs: 5, p90Ms: 9 });
  });
});

describe('--since', () => {
  const now = new Date('2026-03-01T12:00:00.000Z');
  it('takes relative and ISO forms', () => {
    expect(parseSince('30d', now)?.toISOString()).toBe('2026-01-30T12:00:00.000Z');
    expect(parseSince('12h', now)?.toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(parseSince('2026-02-01', now)?.toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(parseSince('2026-02-01T10:00:00Z', now)?.toISOString()).toBe('2026-02-01T10:00:00.000Z');
  });
  it('refuses anything else', () => {
    for (const bad of ['30', 'd30', '30w', 'yesterday', '2026-13-45', '2027-01-01', '']) {
      expect(parseSince(bad, now)).toBeUndefined();
    }
  });
});
