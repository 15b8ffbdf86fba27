import { ApplicationFailure, type Next } from '@temporalio/common';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
} from '@temporalio/worker';
import { redact, redactDeep } from '../activities/redact.js';

/**
 * An activity's failure is stored in workflow history (message, stack, details, causes) and shown by
 * `promote status`, logs and traces. Activities redact what they know to carry output; this catches
 * everything else (an unexpected error quoting a command or a file) before it leaves the activity.
 */
export function redactFailure(error: unknown, depth = 0): void {
  if (!(error instanceof Error) || depth > 8) return;
  const fields = error as { message: string; stack?: string; details?: unknown[] };
  fields.message = redact(error.message);
  if (error.stack) fields.stack = redact(error.stack);
  if (error instanceof ApplicationFailure && Array.isArray(error.details))
    fields.details = redactDeep(error.details);
  redactFailure(error.cause, depth + 1);
}

class RedactFailures implements ActivityInboundCallsInterceptor {
  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) {
    try {
      return await next(input);
    } catch (error) {
      redactFailure(error);
      throw error;
    }
  }
}

/** Innermost of the activity interceptors: tracing and the runtime's log see the redacted failure. */
export const redactFailures: ActivityInterceptorsFactory = () => ({ inbound: new RedactFailures() });
