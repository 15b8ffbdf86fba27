import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { FailureType } from '../common/failures.js';
import type { TagValue } from '../common/types.js';

/** Small pure helpers the promotion's steps share. */

export const now = () => new Date().toISOString();

/** One app's tag as a string, several as an object keyed by app (the status contract). */
export function tagValue(tags: Record<string, string>): TagValue {
  const entries = Object.entries(tags);
  return entries.length === 1 && entries[0] ? entries[0][1] : tags;
}

export function tagOf(value: TagValue | undefined, app: string): string | undefined {
  return typeof value === 'string' ? value : value?.[app];
}

export function failureMessage(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Bad input found by an activity fails the promotion as such, with the activity's own type and message. */
export function asBadInput(error: unknown): ApplicationFailure | undefined {
  if (
    error instanceof ActivityFailure &&
    error.cause instanceof ApplicationFailure &&
    error.cause.nonRetryable
  ) {
    return ApplicationFailure.create({
      message: error.cause.message,
      type: error.cause.type ?? FailureType.InvalidRequest,
      nonRetryable: true,
    });
  }
  return undefined;
}
