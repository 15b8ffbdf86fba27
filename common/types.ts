import type { Source } from './tags.js';
import type { WindowOverride, WindowWait } from './windows.js';

export const PROMOTION_STATUSES = [
  'running',
  'waiting-approval',
  'succeeded',
  'failed',
  'rejected',
  'cancelled',
  /** Stopped because one of its tags was blocked (`promote block`): issue 22. */
  'blocked',
  /** An environment it reached is closed (windows, freezes): it waits until it opens. */
  'waiting-window',
  /** The tag runs in an environment for its `soak` time before the next one starts. */
  'soaking',
] as const;
export type PromotionStatus = (typeof PROMOTION_STATUSES)[number];

export type EnvironmentStatus =
  | 'pending'
  | 'queued'
  | 'bumping'
  | 'diffing'
  | 'waiting-approval'
  | 'applying'
  | 'succeeded'
  | 'failed'
  | 'rejected'
  | 'skipped'
  | 'superseded'
  | 'reverted'
  /** Not started, or stopped before its apply and compensated: one of its tags is blocked. */
  | 'blocked'
  /** Closed (outside its windows, or frozen): waits until it opens; `window` says until when and why. */
  | 'waiting-window'
  /** Applied; the tag runs here for its `soak` time before the next environment starts (`soakUntil`). */
  | 'soaking'
  /** Its revert or rollback gave up (budget spent, or an operator abandoned it): see `compensation.left`. */
  | 'compensation-failed';

export interface AppRequest {
  app: string;
  tag: string;
  source?: Source;
}

/** Roll one app in one environment back to an earlier tag (by default the one before the current). */
export interface RollbackRequest {
  env: string;
  app: string;
  toTag?: string;
}

/** What a client asks for; the workflow id is derived from it so a retried CI job finds the same run. */
export interface PromotionRequest {
  repo: string;
  /** Empty for a rollback, whose tag is read from the repository's history. */
  apps: AppRequest[];
  /** Stop after this environment (inclusive). */
  to?: string;
  /** Deploy this one environment directly, if its `requires` policy allows. */
  only?: string;
  /** Deploy even where the values already hold the tags. */
  force?: boolean;
  rollback?: RollbackRequest;
  requestedBy?: string;
  /**
   * The CI identity the client ran as (e.g. `GITHUB_ACTOR`), read from its environment at start: like
   * `requestedBy`, it may not approve the promotion unless the environment allows self-approval.
   */
  ciActor?: string;
}

/** Undoing a promotion's effect on one environment, once it could not simply be done at once. */
export interface Compensation {
  /** The step under way, or the one that gave up. */
  step: 'revert' | 'rollback';
  startedAt: string;
  /** Set once it gave up: what a person must still do, in words (commit, file, values, rollback). */
  left?: string;
  /** Why the last attempt failed. */
  error?: string;
  /** When it ended, done or given up: `promote abandon` is refused from then on. */
  endedAt?: string;
  /** `promote abandon`: who gave up, and why. */
  abandoned?: { by: string; reason: string; at: string };
}

/** `promote abandon`: stop retrying an environment's compensation now, recording who gave up. */
export interface AbandonInput {
  env: string;
  by: string;
  reason: string;
}

/**
 * How the decider's identity was established. `cli-declared`: the name a CLI or API client gave
 * (`--as`, `PROMOTE_USER`), not proven; `slack`: the Slack user mapped through promote.yaml; the signed
 * kinds (`github-review`, `ssh-signature`) are verified elsewhere.
 */
export type DecisionVia = 'cli-declared' | 'slack' | 'github-review' | 'ssh-signature';
export const DECISION_VIAS: readonly DecisionVia[] = [
  'cli-declared',
  'slack',
  'github-review',
  'ssh-signature',
];

export interface Decision {
  approved: boolean;
  by: string;
  at: string;
  comment?: string;
  /** How `by` was established (absent on decisions recorded before approval policies: cli-declared). */
  via?: DecisionVia;
  /** The commit decided on (the proposal commit, or the bump commit): a rebuilt proposal needs fresh decisions. */
  commit?: string;
  /** The verified principal of a signed decision (the approver name in allowed_signers). */
  principal?: string;
  /** The signed statement and its SSH signature, kept as evidence. */
  signature?: SignedStatement;
  /** `ssh-signature`: the deployment branch commit whose allowed_signers verified it (`promote audit` reads it there). */
  base?: string;
  /** `github-review`: the pull request review the worker read from GitHub (its id, page and reviewer). */
  review?: PullRequestReviewRef;
}

/** A pull request review counted as a decision: read by id from GitHub by a worker, never taken on a client's word. */
export interface PullRequestReviewRef {
  id: number;
  pullRequest: number;
  /** The reviewer's GitHub login (mapped to `by` through promote.yaml `github.users`). */
  login: string;
  url?: string;
}

/**
 * A nudge that a pull request was reviewed (the webhook receiver sends it): only the review id travels;
 * the workflow reads the review itself from GitHub, so whoever sends this cannot forge an approval.
 */
export interface ReviewNudge {
  pullRequest: number;
  reviewId: number;
}

/** A decision signed with `ssh-keygen -Y sign -n promote` over the canonical statement (common/approval-statement.ts). */
export interface SignedStatement {
  statement: string;
  signature: string;
}

export interface DecisionInput {
  env: string;
  approved: boolean;
  by: string;
  comment?: string;
  /** The commit the decider saw (the proposal commit, or the bump commit of older runs): refused once it is no longer current. */
  commit?: string;
  /** A signed decision: required where the environment has `signedApprovals: required`. */
  signed?: SignedStatement;
  /** Slack: the id of the click that sent it; a second decision with the same id is a replay. */
  actionId?: string;
  /** How `by` was established; absent means `cli-declared`. Clients may claim only `cli-declared` or `slack`; `ssh-signature` is set by the workflow once verified. */
  via?: DecisionVia;
}

/** A tag per app: a plain string when the promotion moves one app, so the common case reads simply. */
export type TagValue = string | Record<string, string>;

/** A helm release as a deploy step observed it. */
export interface ObservedRelease {
  release: string;
  namespace: string;
  /** The deployed revision before this step (0: not installed). */
  revisionBefore?: number;
  revision?: number;
  status?: string;
  /** What a repair did, e.g. "pending-upgrade at revision 4: rolled back to revision 3". */
  repaired?: string;
  /** Tags found in the release's values, by app. */
  tags?: Record<string, string>;
}

/**
 * A manual environment's bump, on its own branch until approved: the deployment branch never sees it
 * unless it lands. `commit` is what the diff ran at and what an approval names.
 */
export interface Proposal {
  branch: string;
  /** The proposal commit (absent while it is being made). */
  commit?: string;
  /** The deployment branch head it was made on. */
  base?: string;
  /** GitHub: the pull request showing it. */
  url?: string;
  pullRequest?: number;
  /** proposing → proposed (waiting, no lock held) → landing (lock held) → landed, or dropped. */
  phase: 'proposing' | 'proposed' | 'landing' | 'landed' | 'dropped';
  /** Why approval is asked again: the proposal was rebuilt on a changed branch. */
  reason?: string;
  /** How many times it was rebuilt. */
  rebuilds?: number;
}

export interface EnvironmentState {
  name: string;
  status: EnvironmentStatus;
  approval: 'auto' | 'manual';
  /** The people who may decide (groups from promote.yaml expanded); absent: anyone. */
  approvers?: string[];
  /** Decisions must be signed and verified against allowed_signers (`signedApprovals: required`). */
  signedApprovals?: 'required';
  /** Approvals from distinct people needed (absent: one). */
  minApprovals?: number;
  /** True when the requester (or CI actor) may approve their own promotion here. */
  allowSelfApproval?: boolean;
  tag?: TagValue;
  previousTag?: TagValue;
  commit?: string;
  /** Manual environments: the proposal branch and commit awaiting (or past) approval. */
  proposal?: Proposal;
  diff?: string;
  applyOutput?: string;
  /** The decision that ended the wait: the approval completing the quorum, or a rejection. */
  decision?: Decision;
  /** Every approval and rejection, in order, across rebuilt proposals: the audit trail. */
  decisions?: Decision[];
  /** While queued: the promotion holding the environment. */
  queuedBehind?: string;
  /** The newer promotion that took this one's place. */
  supersededBy?: string;
  /** Commit that restored the values this promotion changed. */
  revertCommit?: string;
  /** True once the deployment itself was rolled back. */
  rolledBack?: boolean;
  /** Set when compensation starts (guarded runs): `promote abandon` may end it; `left` once it gave up. */
  compensation?: Compensation;
  /** helm/helmfile: the releases as observed by the last diff or apply (revisions, tags, repairs). */
  releases?: ObservedRelease[];
  /** helm/helmfile: pending releases repaired before the apply, e.g. "api was pending-upgrade…". */
  repaired?: string[];
  /** helm/helmfile: deployed tags that differed from Git before the bump. */
  drift?: string[];
  /** helm/helmfile: the tags the cluster ran before the apply (read at the diff). */
  observedPreviousTag?: TagValue;
  /** helm/helmfile: the tags the cluster runs after the apply. */
  observedTag?: TagValue;
  /**
   * Set when the values were already in Git but the deployer reported another state running (a holder
   * terminated mid-apply): the re-run applied them instead of `skipped`. Says what ran before.
   */
  reapplied?: string;
  /** When its soak ends (set while soaking, kept after). */
  soakUntil?: string;
  /** While `waiting-window`: when the environment opens and why it is closed. */
  window?: WindowWait;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
}

/** A posted message, so later events update it rather than post again (Slack: channel and ts). */
export interface MessageRef {
  channel: string;
  ts: string;
}

/** An announcement that could not be delivered: the promotion went on without it. */
export interface UndeliveredAnnouncement {
  /** The environment it was about; absent for the promotion's own (root) message. */
  env?: string;
  event: string;
  error: string;
  at: string;
}

export interface PromotionState {
  id: string;
  kind: 'promotion' | 'rollback';
  status: PromotionStatus;
  repo: string;
  apps: AppRequest[];
  requestedBy?: string;
  /** The CI identity that started it (e.g. GITHUB_ACTOR), when it ran in CI. */
  ciActor?: string;
  /** Commit of promote.yaml this run uses: set once the request is accepted. */
  configCommit?: string;
  environments: EnvironmentState[];
  /** Messages posted about this promotion (Slack root message, approval requests), so none is posted twice. */
  messages?: Record<string, MessageRef>;
  /** Approver name → Slack user id, from promote.yaml: lets the Slack receiver map a button press. */
  slackUsers?: Record<string, string>;
  /** Announcements that were not delivered (best-effort: they never change the outcome). */
  undelivered?: UndeliveredAnnouncement[];
  /** Slack action ids (with the commit) already decided: a replayed click is refused on any receiver. */
  seenActions?: string[];
  /** `promote approve --override-window`: approvers who let an environment deploy while closed, and why. */
  windowOverrides?: WindowOverride[];
  error?: string;
  startedAt: string;
  finishedAt?: string;
}

export const TERMINAL_STATUSES: readonly PromotionStatus[] = [
  'succeeded',
  'failed',
  'rejected',
  'cancelled',
  'blocked',
];

/**
 * A bump pushed by a run that lost its environment lock: the lock reverts it, and the revert activity
 * finds it by these keys (shared by the lock's state and the activity's input).
 */
export interface AbandonedBump {
  repo: string;
  branch: string;
  env: string;
  valuesFile: string;
  promotionId: string;
  run?: string;
}
