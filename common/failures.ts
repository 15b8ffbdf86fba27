/**
 * Stable ApplicationFailure type names. Clients and tests match on these, so they are a contract:
 * add new ones, never rename.
 */
export const FailureType = {
  InvalidRequest: 'InvalidRequest',
  InvalidConfig: 'InvalidConfig',
  RepositoryUnreachable: 'RepositoryUnreachable',
  ValuesKeyMissing: 'ValuesKeyMissing',
  DeployCommandFailed: 'DeployCommandFailed',
  PromotionFailed: 'PromotionFailed',
  PromotionRejected: 'PromotionRejected',
  PromotionCancelled: 'PromotionCancelled',
  /** Stopped because one of its tags is blocked (`promote block`). */
  PromotionBlocked: 'PromotionBlocked',
  AnnouncementUndelivered: 'AnnouncementUndelivered',
  /** Queued for an environment longer than its `lockTimeout`. */
  LockTimedOut: 'LockTimedOut',
  /** A revert or rollback that kept failing until its retry budget was spent. */
  CompensationFailed: 'CompensationFailed',
  /** The worker's PROMOTE_ALLOWED_REPOSITORIES does not include the repository: nothing was fetched. */
  RepositoryNotAllowed: 'RepositoryNotAllowed',
  /** GitHub's rate limit outlasted an in-place wait: retried after the time GitHub names. */
  GitHubRateLimited: 'GitHubRateLimited',
  /** GitHub refused to merge a proposal's pull request by a protection rule or a disallowed merge method. */
  MergeRefused: 'MergeRefused',
  /** A signed decision whose signature does not verify against allowed_signers at the proposal's base. */
  ApprovalSignatureInvalid: 'ApprovalSignatureInvalid',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failures caused by the request or the repository's content: retrying cannot help, and nothing was changed. */
export const BAD_INPUT_FAILURES: readonly string[] = [
  FailureType.InvalidRequest,
  FailureType.InvalidConfig,
  FailureType.RepositoryUnreachable,
  FailureType.ValuesKeyMissing,
  FailureType.RepositoryNotAllowed,
];
