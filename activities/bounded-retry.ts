import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { FailureType } from '../common/failures.js';
import { redact } from './redact.js';

/** How long compensation retries by default before the environment ends `compensation-failed`. */
export const DEFAULT_COMPENSATION_RETRY_MS = 30 * 60_000;
/** Left of the activity's start-to-close budget for the last attempt and the report. */
const LAST_ATTEMPT_MS = 10 * 60_000;
const MAX_DELAY_MS = 60_000;

/** What a retrying activity heartbeats: a retried activity (worker died) goes on with the same budget. */
export interface RetryProgress {
  since: number;
  attempts: number;
  error?: string;
}

function messageOf(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}

function durationText(ms: number): string {
  if (ms >= 3_600_000) return `${Math.round(ms / 360_000) / 10}h`;
  if (ms >= 60_000) return `${Math.round(ms / 6_000) / 10}m`;
  return `${Math.round(ms / 100) / 10}s`;
}

/**
 * Retries `step` inside one activity until it succeeds or `budgetMs` (counted from the first attempt,
 * across activity retries) is spent: the workflow's history holds one activity however many attempts
 * it took, and the attempts are visible in the pending activity's heartbeat details. Gives up with a
 * non-retryable `CompensationFailed` naming the last error; a cancellation (an operator abandoning it)
 * ends it between attempts.
 */
export async function retryWithin<T>(
  what: string,
  budgetMs: number,
  step: (beat: () => void) => Promise<T>,
  heartbeatEveryMs: number,
): Promise<T> {
  const context = Context.current();
  const carried = context.info.heartbeatDetails as RetryProgress | undefined;
  const progress: RetryProgress = {
    since: carried?.since ?? Date.now(),
    attempts: carried?.attempts ?? 0,
    ...(carried?.error ? { error: carried.error } : {}),
  };
  const budget = Math.max(0, Math.min(budgetMs, context.info.startToCloseTimeoutMs - LAST_ATTEMPT_MS));
  const beat = () => context.heartbeat({ ...progress });
  beat();
  const timer = setInterval(beat, heartbeatEveryMs);
  try {
    for (;;) {
      progress.attempts++;
      try {
        return await step(beat);
      } catch (error) {
        if (error instanceof CancelledFailure || context.cancellationSignal.aborted) throw error;
        progress.error = messageOf(error);
        const left = progress.since + budget - Date.now();
        if (left <= 0) {
          throw ApplicationFailure.create({
            message: `${what} gave up after ${progress.attempts} attempts in ${durationText(Date.now() - progress.since)}: ${progress.error}`,
            type: FailureType.CompensationFailed,
            nonRetryable: true,
            details: [{ ...progress }],
          });
        }
        beat();
        await context.sleep(Math.min(1_000 * 2 ** Math.min(progress.attempts, 6), MAX_DELAY_MS, left));
      }
    }
  } finally {
    clearInterval(timer);
  }
}
