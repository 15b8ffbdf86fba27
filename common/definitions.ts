import { defineQuery, defineSignal, defineUpdate } from './define.js';
import type {
  AbandonedBump,
  AbandonInput,
  Decision,
  DecisionInput,
  EnvironmentState,
  PromotionState,
  ReviewNudge,
} from './types.js';

/** The promotion's whole state: the CLI and (later) Slack render it. */
export const statusQuery = defineQuery<PromotionState>('status');

/**
 * Answers once a worker has read promote.yaml and accepted the request, so `promote start` learns it in
 * the same round trip that starts the promotion (update-with-start) instead of polling.
 */
export const acceptedUpdate = defineUpdate<PromotionState>('accepted');

/** Approve or reject an environment; the validator refuses bad decisions before they reach history. */
export const decideUpdate = defineUpdate<Decision, [DecisionInput]>('decide');

/**
 * `promote abandon`: an operator gives up an environment's compensation (revert, rollback) now instead
 * of at the end of its retry budget. Recorded with who and why; answers once the environment is released
 * as `compensation-failed`, with what is left for a person.
 */
export const abandonUpdate = defineUpdate<EnvironmentState, [AbandonInput]>('abandon');

/** Fire-and-forget form of `decide` for callers that cannot wait (webhooks); invalid ones are ignored. */
export const decideSignal = defineSignal<[DecisionInput]>('decideSignal');

/**
 * `promote github` (or anyone): pull request `pullRequest` got review `reviewId`. Only a hint: the
 * workflow reads the review from GitHub in an activity and counts what GitHub says, not what was sent.
 */
export const pullRequestReviewSignal = defineSignal<[ReviewNudge]>('pullRequestReview');

// ---- The environment lock: one deployment per environment at a time ----

export interface LockRequest {
  /** Workflow id of the promotion asking for the environment. */
  holder: string;
  apps: string[];
  /** Where the holder commits, so the lock can revert its bump if the holder dies holding it. */
  branch?: string;
  valuesFile?: string;
  /**
   * The saga asking: a re-run of the same request (same workflow id) is a different holder. Runs since
   * `reset-keeps-saga` send their first execution's run id, which a `temporal workflow reset` keeps.
   */
  run?: string;
  /**
   * The run id of the execution asking right now: differs from `run` after a reset. A reset run asks
   * again for an environment its saga already released (reset to before it) and is not a late copy.
   */
  current?: string;
  /**
   * A holder re-asserting (the lock is a cache): it was granted the environment, and where its apply
   * stands, so a lock that lost it (terminated, reset) takes it back as holder.
   */
  held?: { applying: boolean; applied: boolean };
  /**
   * A proposal's landing attempt after the first (a stale proposal rebuilt and approved again): the
   * same run asking anew after it released, not a late copy of its earlier request.
   */
  landing?: number;
}

export interface LockHolder extends LockRequest {
  since: string;
  /** Set when the holder told the lock its apply started; cleared when it finished. */
  applying?: boolean;
  /** The holder started an apply at some point: its bump may be live and must never be reverted by the lock. */
  applied?: boolean;
}

export interface LockState {
  holder?: LockHolder;
  queue: LockRequest[];
  /** Supersede notices not yet delivered: carried across continue-as-new so none is dropped. */
  outbox?: { to: string; run?: string; superseded?: { by: string }; granted?: boolean }[];
  /**
   * Runs that released the environment (newest last, bounded): a copy of their request delivered late
   * (a retried request activity, a re-assert in flight) must not make them holders again.
   */
  released?: ReleasedRun[];
  /**
   * Runs that say they hold the environment while another does (a conflict: an alert was raised). No
   * queued request is granted before each of them has held and released it in turn.
   */
  claims?: LockHolder[];
  /** A lock rebuilt without state that cannot yet read these promotions grants nothing (fails closed). */
  unreadable?: string[];
  /** Gone holders whose bump was reverted: a push of theirs landing late is reverted before a grant. */
  abandoned?: (AbandonedBump & { until: number })[];
}

/** A saga that released the environment; `current` is the execution that sent the release. */
export interface ReleasedRun {
  holder: string;
  run: string;
  current?: string;
  landing?: number;
}

export interface LockInput {
  repo: string;
  env: string;
  /** How often a holder's liveness is checked. */
  leaseMs: number;
  /** How long an unused lock workflow waits before ending. */
  idleMs: number;
  /**
   * After a holder is found gone mid-apply, how long to wait before granting the next one: its deploy
   * command may still be shutting down on a worker (heartbeat timeout plus the deploy's grace).
   */
  drainMs?: number;
  /**
   * After a holder is found gone before applying, how long to wait before reverting its bump and
   * granting: its git step's push is cancelled through the step's heartbeat and killed meanwhile.
   */
  pushDrainMs?: number;
  /**
   * How often holders re-assert: a lock starting without carried state grants nothing for this long
   * plus a lease, so a holder it could not find tells it first (locks started before it: none).
   */
  reassertMs?: number;
  /** State carried over continue-as-new. */
  carried?: LockState;
}

/** Promotion → lock: queue me (idempotent per holder). */
export const lockRequestSignal = defineSignal<[LockRequest]>('lockRequest');
/** What the lock answers a request made by update: granted, or who is ahead (none known: neither). */
export interface LockAnswer {
  granted?: boolean;
  holder?: string;
}
/**
 * Promotion → lock, from `lock-granted-in-request` on: queue me, as `lockRequest` does, and answer once
 * the lock has decided (idempotent: the holder asking again is answered granted again). A request the
 * answer grants gets no `lockGranted` signal: an uncontended grant costs one round trip.
 */
export const lockRequestUpdate = defineUpdate<LockAnswer, [LockRequest]>('requestLock');
/** Who a promotion's notice to its lock comes from: the holder, its saga's run, the execution asking. */
export interface LockNotice {
  holder: string;
  run?: string;
  current?: string;
}
/** Promotion → lock: I am done with the environment, or no longer want it. */
export const lockReleaseSignal = defineSignal<[LockNotice & { landing?: number }]>('lockRelease');
/** Promotion → lock: my apply starts (`applying: true`) or has ended; a lost holder that applied is not reverted. */
export const lockApplyingSignal = defineSignal<[LockNotice & { applying: boolean }]>('lockApplying');
export const lockStateQuery = defineQuery<LockState>('lockState');

/**
 * Promotion → whoever rebuilds a lock: the environments this run holds, from the grant until it sends
 * its release (explicit, unlike a status), and its saga.
 */
export interface HeldEnvironments {
  run?: string;
  envs: string[];
}
export const heldEnvironmentsQuery = defineQuery<HeldEnvironments>('heldEnvironments');

/**
 * Lock → promotion: the environment is yours. Locks since `lock-follows-saga` address the workflow id
 * (a reset changes the run id) and name the saga in `run`; a run of another saga ignores it.
 */
export const lockGrantedSignal = defineSignal<[{ env: string; run?: string }]>('lockGranted');
/** Lock → promotion: a newer promotion of the same apps takes your place in this environment. */
export const supersededSignal = defineSignal<[{ env: string; by: string; run?: string }]>('superseded');
