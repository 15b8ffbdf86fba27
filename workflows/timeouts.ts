import {
  ActivityCancellationType,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import { DEPLOY_HEARTBEAT_TIMEOUT_MS, DEPLOY_RETRY_INTERVAL_MS } from '../common/constants.js';

/** Git work: quick to fail, retried for a few minutes (every step is idempotent). */
const GIT_RETRY = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 10,
} as const;

/** Named activity presets: each outside interaction has one obvious timeout and retry policy. */
export const TIMEOUTS = {
  /** Fetch, read, commit, push: quick, and safe to retry because every step is idempotent. */
  git: {
    startToCloseTimeout: '2 minutes',
    retry: GIT_RETRY,
  },
  /**
   * Deploy commands can run long; heartbeats detect a dead worker well before the overall limit, and
   * cancellation waits until the command has really stopped before compensation starts.
   */
  deploy: {
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: DEPLOY_HEARTBEAT_TIMEOUT_MS,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    // One apply at a time, even across attempts: a retry starts only after a lost attempt's command has
    // had its heartbeat timeout and grace to end (docs/operations.md, "Applies and retries").
    retry: { initialInterval: DEPLOY_RETRY_INTERVAL_MS, maximumAttempts: 5 },
  },
  /**
   * Git work that must finish before anyone else may deploy (compensation, the lock's clean-up):
   * retried without limit, with heartbeats so a dead worker is noticed quickly.
   */
  gitUntilDone: {
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  },
  /** Git work of a promotion step: heartbeats start before any fetch, and a cancel waits for the push to end. */
  gitStep: {
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '30 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: GIT_RETRY,
  },
  /**
   * A held environment's bump and its diff in one activity (`bumpAndDiff`): the diff may run as long as
   * a deploy's, the heartbeat timeout stays the git step's (the lock's push drain counts on it) and
   * retrying is safe (the bump finds its own commit by its trailers, the diff changes nothing).
   */
  bumpAndDiff: {
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '30 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: GIT_RETRY,
  },
  /**
   * A soak's look at the cluster (`deployedState`): a read, bounded, so a deployer that cannot answer
   * never holds the soak past its end; a failed look is logged and the next one is tried.
   */
  soakCheck: {
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
  },
  /** One try of a compensation step; the workflow repeats it until it is done, showing each attempt. */
  compensation: {
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
  },
  /**
   * Guarded runs' compensation: the activity itself retries until done or its budget (worker setting,
   * 30 min by default, at most this timeout less 10 min) is spent, heartbeating its attempts; a retry
   * here only covers a worker that died or an attempt that hung past the timeout. A cancel
   * (`promote abandon`) lets the attempt under way end.
   */
  compensationWithin: {
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: '30 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
  },
  /** Reads of Temporal itself (lock requests, liveness of a holder). */
  lookup: {
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
  },
  /** A read of Temporal that walks many workflows (a lock rebuilding): heartbeats per workflow read. */
  lookupHeartbeating: {
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '20 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
  },
  /**
   * The janitor's reads and sweeps: a few tries with heartbeats; what still fails is tried again at the
   * next tick, so nothing here retries for long.
   */
  janitor: {
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '30 seconds',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: 3,
    },
  },
  /** Announcements are best-effort but should not be dropped on a blip. */
  notify: {
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumAttempts: 5 },
  },
} satisfies Record<string, ActivityOptions>;

/**
 * Runs from here on read what changes nothing (promote.yaml at load, the governance gate) as local
 * activities, with LOCAL_TIMEOUTS: inside the workflow task that asks, no activity task and no
 * workflow task more.
 */
export const LOCAL_READS_PATCH = 'local-reads';

/**
 * Named presets for local activities: short, idempotent reads run inside the workflow task that asks
 * for them (no activity task, no extra workflow task), their result recorded as a marker. Each mirrors
 * the remote preset of the same name; a retry backing off longer than a minute becomes a timer.
 */
export const LOCAL_TIMEOUTS = {
  /**
   * promote.yaml and the values files at the branch head (a fetch, a few reads): two tries in the
   * workflow task, then the caller goes on with `TIMEOUTS.git` as an ordinary, visible activity.
   */
  git: {
    startToCloseTimeout: '2 minutes',
    retry: { ...TIMEOUTS.git.retry, maximumAttempts: 2 },
  },
  /** Reads of Temporal itself (the governance rules): as `TIMEOUTS.lookup`. */
  lookup: {
    startToCloseTimeout: '30 seconds',
    retry: TIMEOUTS.lookup.retry,
  },
} satisfies Record<string, LocalActivityOptions>;
