import type { RepositoryCache } from './repository.js';
import { redact } from './redact.js';

export interface ReviewsInput {
  repo: string;
  pullRequest: number;
  /** Read these reviews by id (a webhook's nudge); absent: list every review (the poll). */
  reviewIds?: number[];
  /** promote.yaml `github.users`: approver name → GitHub login. */
  users: Record<string, string>;
}

/** A review as GitHub reports it, with the approver its login maps to (if any). */
export interface ReadReview {
  id: number;
  /** `approved`, `changes-requested`, or `other` (comments, dismissed, pending: never a decision). */
  kind: 'approved' | 'changes-requested' | 'other';
  /** The head the review was given at: only the proposal commit counts. */
  commitId?: string;
  login?: string;
  /** The approver mapped to `login` by promote.yaml; absent for an unmapped login. */
  by?: string;
  url?: string;
  /** The review's text, bounded (a rejection's reason). */
  body?: string;
}

const KINDS: Record<string, ReadReview['kind']> = {
  APPROVED: 'approved',
  CHANGES_REQUESTED: 'changes-requested',
};

/**
 * Reads pull request reviews from GitHub through the worker's own credentials: the workflow counts a
 * review only as GitHub reports it here (state, head commit, reviewer), never as a nudge claims it.
 * Reviews of other repositories than GitHub ones, or ids GitHub does not know on this pull request,
 * are simply not returned.
 */
export async function readPullRequestReviews(
  cache: RepositoryCache,
  input: ReviewsInput,
): Promise<ReadReview[]> {
  const github = cache.gitHub(input.repo);
  if (!github) return [];
  const found = input.reviewIds
    ? (
        await Promise.all(input.reviewIds.map((id) => github.pullRequestReview(input.pullRequest, id)))
      ).filter((r) => r !== undefined)
    : await github.pullRequestReviews(input.pullRequest);
  // GitHub logins are case-insensitive: mapped as such.
  const byLogin = new Map(
    Object.entries(input.users).map(([person, login]) => [login.toLowerCase(), person] as const),
  );
  return found.map((review) => {
    const by = review.login ? byLogin.get(review.login.toLowerCase()) : undefined;
    return {
      id: review.id,
      kind: KINDS[review.state] ?? 'other',
      ...(review.commitId ? { commitId: review.commitId } : {}),
      ...(review.login ? { login: review.login } : {}),
      ...(by ? { by } : {}),
      ...(review.url ? { url: review.url } : {}),
      ...(review.body ? { body: redact(review.body.slice(0, 2_000)) } : {}),
    };
  });
}
