import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';

/** Named activity presets: each outside interaction has one obvious timeout and retry policy. */
export const TIMEOUTS = {
  /** Fetch, read, commit, push: quick, and safe to retry because every step is idempotent. */
  git: {
    startToCloseTimeout: '2 minutes',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: 10,
    },
  },
  /**
   * Deploy commands can run long; heartbeats detect a dead worker well before the overall limit, and
   * cancellation waits until the command has really stopped before compensation starts.
   */
  deploy: {
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '10 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '2 seconds', maximumAttempts: 5 },
  },
  /** Reads of Temporal itself (lock requests, liveness of a holder). */
  lookup: {
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
  },
  /** Announcements are best-effort but should not be dropped on a blip. */
  notify: {
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumAttempts: 5 },
  },
} satisfies Record<string, ActivityOptions>;
