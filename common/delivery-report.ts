import type { EnvironmentState, PromotionState } from '../common/types.js';

/*
 * Delivery metrics computed from promotions' recorded states (no Temporal, no I/O here, so the figures
 * can be checked against hand-made records). `promote report` prints them and the worker exports them
 * to Prometheus (worker/delivery-metrics.ts): one computation, so the two never disagree.
 * Definitions: docs/report.md.
 */

const DAY_MS = 86_400_000;

/** An environment's apply ended badly: the promotion failed there or undid its change. */
const FAILED_ENV = new Set(['failed', 'reverted', 'compensation-failed']);

export interface Distribution {
  count: number;
  /** Milliseconds; absent when count is 0. */
  medianMs?: number;
  p90Ms?: number;
}

/** Lead times, and where each was measured from. */
export interface LeadTime extends Distribution {
  /** Measured from a recorded source commit time (`promote start --source`, docs/report.md). */
  fromSource: number;
  /** Measured from the promotion's start: no source commit time was recorded. */
  fromStart: number;
}

export interface EnvironmentReport {
  env: string;
  /** Promotions (not rollbacks) whose apply succeeded here in the window. */
  deployments: number;
  deploymentsPerDay: number;
  /** Rollbacks of this environment that succeeded in the window. */
  rollbacks: number;
  /** Promotions whose apply here ended (succeeded or not): the denominator of changeFailureRate. */
  changes: number;
  /** Of those: failed/reverted/compensation-failed here, or succeeded and then rolled back. */
  failedChanges: number;
  /** failedChanges / changes; absent when changes is 0. */
  changeFailureRate?: number;
  /** From a failed apply's end to the next succeeded promotion or rollback of this environment. */
  timeToRestore: Distribution;
  /** Failures with no later success in the window. */
  unrestored: number;
  /** From the environment's start to the decision that ended its approval wait (manual environments). */
  approvalWait: Distribution;
}

export interface DeliveryReport {
  since: string;
  until: string;
  days: number;
  /** Promotions and rollbacks read (started in the window). */
  promotions: number;
  rollbacks: number;
  /** Runs whose state could not be read (e.g. running with no worker answering). */
  unreadable: number;
  /** Set when the reader stopped at its limit of runs (the worker's metrics): the figures cover the newest only. */
  truncated?: true;
  /** Source commit time (or promotion start) to the apply success in its last target environment. */
  leadTime: LeadTime;
  environments: EnvironmentReport[];
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Median and p90 by nearest rank: the median of [a, b] is a, so every figure is a real observation. */
export function distribution(values: number[]): Distribution {
  if (values.length === 0) return { count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, medianMs: percentile(sorted, 50), p90Ms: percentile(sorted, 90) };
}

function ms(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** One environment's outcome in one run, flattened so the per-environment figures are simple scans. */
interface Event {
  kind: PromotionState['kind'];
  ok: boolean;
  at: number;
}

function envEnd(state: PromotionState, env: EnvironmentState): number | undefined {
  return ms(env.finishedAt) ?? ms(state.finishedAt);
}

function eventsByEnv(states: PromotionState[]): Map<string, Event[]> {
  const byEnv = new Map<string, Event[]>();
  for (const state of states) {
    for (const env of state.environments) {
      const ok = env.status === 'succeeded';
      if (!ok && !FAILED_ENV.has(env.status)) continue;
      const at = envEnd(state, env);
      if (at === undefined) continue;
      const list = byEnv.get(env.name) ?? [];
      list.push({ kind: state.kind, ok, at });
      byEnv.set(env.name, list);
    }
  }
  for (const list of byEnv.values()) list.sort((a, b) => a.at - b.at);
  return byEnv;
}

/** A succeeded promotion counts as failed when a rollback of the environment followed before the next promotion. */
function rolledBackAfter(events: Event[], index: number): boolean {
  for (const later of events.slice(index + 1)) {
    if (later.kind === 'rollback' && later.ok) return true;
    if (later.kind === 'promotion' && later.ok) return false;
  }
  return false;
}

function approvalWaits(states: PromotionState[], env: string): number[] {
  const waits: number[] = [];
  for (const state of states) {
    const e = state.environments.find((x) => x.name === env);
    const start = ms(e?.startedAt);
    const decided = ms(e?.decision?.at);
    if (e?.approval === 'manual' && start !== undefined && decided !== undefined) waits.push(decided - start);
  }
  return waits;
}

function environmentReport(
  env: string,
  events: Event[],
  states: PromotionState[],
  days: number,
): EnvironmentReport {
  let deployments = 0;
  let rollbacks = 0;
  let changes = 0;
  let failedChanges = 0;
  let unrestored = 0;
  const restores: number[] = [];
  events.forEach((event, i) => {
    if (event.kind === 'rollback') {
      if (event.ok) rollbacks++;
      return;
    }
    changes++;
    if (event.ok) deployments++;
    if (!event.ok || rolledBackAfter(events, i)) failedChanges++;
    if (event.ok) return;
    const restored = events.slice(i + 1).find((later) => later.ok);
    if (restored) restores.push(restored.at - event.at);
    else unrestored++;
  });
  return {
    env,
    deployments,
    deploymentsPerDay: days > 0 ? deployments / days : 0,
    rollbacks,
    changes,
    failedChanges,
    ...(changes > 0 ? { changeFailureRate: failedChanges / changes } : {}),
    timeToRestore: distribution(restores),
    unrestored,
    approvalWait: distribution(approvalWaits(states, env)),
  };
}

/** The oldest change a promotion carries: the earliest commit time its `--source` apps recorded. */
function sourceCommitTime(state: PromotionState): number | undefined {
  const times = state.apps.flatMap((a) => {
    const t = ms(a.source?.committedAt);
    return t === undefined ? [] : [t];
  });
  return times.length > 0 ? Math.min(...times) : undefined;
}

/**
 * Per promotion that succeeded in its last environment: from its source commit time when one was
 * recorded (never later than the start: a committer's clock ahead of the CI's does not shorten it
 * below start-to-production), else from its start.
 */
function leadTime(states: PromotionState[]): LeadTime {
  const leads: number[] = [];
  let fromSource = 0;
  for (const state of states) {
    if (state.kind !== 'promotion') continue;
    const last = state.environments[state.environments.length - 1];
    const start = ms(state.startedAt);
    const end = last && last.status === 'succeeded' ? envEnd(state, last) : undefined;
    if (start === undefined || end === undefined) continue;
    const committed = sourceCommitTime(state);
    if (committed !== undefined) fromSource++;
    leads.push(end - Math.min(start, committed ?? start));
  }
  return { ...distribution(leads), fromSource, fromStart: leads.length - fromSource };
}

/** Environment order as the promotions list them (dev before prod): oldest promotions first, rollbacks last. */
function envOrder(states: PromotionState[]): string[] {
  const names: string[] = [];
  const ordered = [...states].sort(
    (a, b) =>
      Number(a.kind === 'rollback') - Number(b.kind === 'rollback') || a.startedAt.localeCompare(b.startedAt),
  );
  for (const state of ordered)
    for (const env of state.environments) if (!names.includes(env.name)) names.push(env.name);
  return names;
}

export interface ReportInput {
  states: PromotionState[];
  since: Date;
  until: Date;
  unreadable?: number;
  /** Only this environment's row. */
  env?: string;
}

export function computeReport(input: ReportInput): DeliveryReport {
  const days = (input.until.getTime() - input.since.getTime()) / DAY_MS;
  const byEnv = eventsByEnv(input.states);
  const names = envOrder(input.states).filter((n) => input.env === undefined || n === input.env);
  return {
    since: input.since.toISOString(),
    until: input.until.toISOString(),
    days,
    promotions: input.states.filter((s) => s.kind === 'promotion').length,
    rollbacks: input.states.filter((s) => s.kind === 'rollback').length,
    unreadable: input.unreadable ?? 0,
    leadTime: leadTime(input.states),
    environments: names.map((n) => environmentReport(n, byEnv.get(n) ?? [], input.states, days)),
  };
}

/** `30d`, `12h`, `45m` as milliseconds; undefined when it is none of them (or zero). */
export function parseWindow(text: string): number | undefined {
  const relative = /^([0-9]{1,6})([dhm])$/.exec(text);
  if (!relative) return undefined;
  const unit = { d: DAY_MS, h: 3_600_000, m: 60_000 }[relative[2] as 'd' | 'h' | 'm'];
  const length = Number(relative[1]) * unit;
  return length > 0 ? length : undefined;
}

/** `30d`, `12h`, `45m` back from now, or an ISO date/time; undefined when it is neither. */
export function parseSince(text: string, now: Date): Date | undefined {
  if (/^([0-9]{1,6})([dhm])$/.test(text)) {
    const length = parseWindow(text);
    return new Date(now.getTime() - (length ?? 0));
  }
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(text)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) || t > now.getTime() ? undefined : new Date(t);
}
