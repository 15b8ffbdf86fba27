import { continueAsNew, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { TIMEOUTS } from './timeouts.js';

const { closedPromotionRepositories, sweepProposals } = proxyActivities<Activities>(TIMEOUTS.janitor);

/** Repositories swept per run; more continue as new, so one run's history stays small. */
const MAX_REPOSITORIES_PER_RUN = 20;
/** A repository whose sweep keeps failing is dropped after this many ticks (until one of its promotions closes again). */
const MAX_RETRIES = 5;
/** Visibility can show a close a little late: each tick looks back this far before where the last one ended. */
const OVERLAP_MS = 60_000;
/** The first tick (no previous result) looks back this far. */
const FIRST_LOOKBACK_MS = 60 * 60_000;

export interface JanitorRetry {
  repo: string;
  attempts: number;
}

export interface JanitorInput {
  /** Set on continue-as-new: the tick's window end and the repositories still to sweep. */
  until?: string;
  pending?: JanitorRetry[];
  retry?: JanitorRetry[];
  dropped?: number;
}

/** What the schedule keeps as the last completion result, read by the next tick. */
export interface JanitorResult {
  /** Promotions closed before this instant have been looked at (less OVERLAP_MS, which the next tick redoes). */
  sweptUntil: string;
  /** Proposal branches deleted in this tick. */
  dropped: number;
  /** Repositories whose sweep failed, tried again next tick. */
  retry: JanitorRetry[];
}

/**
 * The janitor, started by the task queue's Temporal Schedule (worker/janitor-schedule.ts): a promotion
 * that ended without cleaning its proposal (terminated: no code of it runs again) must not leave a
 * branch or pull request that still looks mergeable. Each tick sweeps the repositories of promotions
 * closed since the last tick (from visibility), plus the last tick's failures; the sweep deletes only
 * proposals whose promotion `describe` says is closed. Short and idempotent: a tick that fails or never
 * runs is covered by the next, which starts where the last completed one ended.
 */
export async function promoteJanitor(input: JanitorInput = {}): Promise<JanitorResult> {
  const info = workflowInfo();
  const until = input.until ?? new Date(Date.now()).toISOString();
  let pending = input.pending;
  if (!pending) {
    const last = info.lastResult as JanitorResult | undefined;
    const since = last?.sweptUntil
      ? new Date(Date.parse(last.sweptUntil) - OVERLAP_MS).toISOString()
      : new Date(Date.parse(until) - FIRST_LOOKBACK_MS).toISOString();
    const closed = await closedPromotionRepositories({ taskQueue: info.taskQueue, since });
    if (closed.truncated) log.warn('janitor: more closed promotions than one tick reads', { since });
    const retried = (last?.retry ?? []).filter((r) => !closed.repos.includes(r.repo));
    pending = [...closed.repos.map((repo) => ({ repo, attempts: 0 })), ...retried];
  }
  const retry = [...(input.retry ?? [])];
  let dropped = input.dropped ?? 0;
  for (const entry of pending.slice(0, MAX_REPOSITORIES_PER_RUN)) {
    try {
      dropped += (await sweepProposals({ repo: entry.repo })).dropped.length;
    } catch (error) {
      log.warn('janitor: sweep failed; tried again next tick', { repo: entry.repo, error: String(error) });
      if (entry.attempts + 1 < MAX_RETRIES) retry.push({ repo: entry.repo, attempts: entry.attempts + 1 });
    }
  }
  const rest = pending.slice(MAX_REPOSITORIES_PER_RUN);
  if (rest.length > 0) await continueAsNew<typeof promoteJanitor>({ until, pending: rest, retry, dropped });
  return { sweptUntil: until, dropped, retry };
}
