import { CancellationScope, condition, log, setHandler } from '@temporalio/workflow';
import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities, ReadReview } from '../activities/index.js';
import type { EnvironmentConfig, PromoteConfig } from '../config/schema.js';
import type { Decision, DecisionInput, EnvironmentState, PromotionState } from '../common/types.js';
import { pullRequestReviewSignal } from '../common/definitions.js';
import { TIMEOUTS } from './timeouts.js';

const { pullRequestReviews } = proxyActivities<Activities>(TIMEOUTS.git);

/** The poll's first interval and its ceiling: a review is noticed within 15 minutes without webhooks. */
const DEFAULT_POLL_MS = 60_000;
const MAX_POLL_MS = 15 * 60_000;
/** Review ids kept waiting per pull request (a flood of nudges cannot grow the state without bound). */
const MAX_PENDING = 50;

export interface ReviewApprovalsContext {
  state: PromotionState;
  /** promote.yaml once loaded: environments wait for approval only after that. */
  config: () => PromoteConfig | undefined;
  /** Why this decision may not be recorded now (the same checks as any other decision). */
  decisionProblem: (input: DecisionInput) => string | undefined;
  record: (input: DecisionInput, proof: Partial<Decision>) => Decision;
}

/**
 * Pull request reviews as approvals (issue 19 item 4). A review counts only as a worker read it from
 * GitHub: approved or changes requested, at the proposal commit (the pull request's head when it was
 * proposed), by a login promote.yaml maps to an approver. Nudges (`pullRequestReview` signals from
 * `promote github`) carry just a review id; the poll lists the reviews itself. Both run only while an
 * environment waits for approval, inside the workflow: durable across worker restarts, and the poll
 * needs no other process.
 */
export function reviewApprovals(ctx: ReviewApprovalsContext) {
  const pending = new Map<number, number[]>();
  /** Reviews already considered (counted or not): each is looked at once. */
  const considered = new Set<number>();

  setHandler(pullRequestReviewSignal, (nudge: unknown) => {
    const { pullRequest, reviewId } = (nudge ?? {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(pullRequest) || !Number.isSafeInteger(reviewId)) {
      log.warn('ignored a review nudge', { problem: 'pullRequest and reviewId must be integers' });
      return;
    }
    const ids = pending.get(pullRequest as number) ?? [];
    if (!ids.includes(reviewId as number) && !considered.has(reviewId as number))
      pending.set(pullRequest as number, [...ids, reviewId as number].slice(-MAX_PENDING));
  });

  /** What one review read from GitHub means for `current`, recorded if it counts. */
  function consider(review: ReadReview, current: EnvironmentState, pullRequest: number): void {
    if (considered.has(review.id)) return;
    considered.add(review.id);
    if (review.kind === 'other') return;
    const why = (problem: string) =>
      log.info('pull request review not counted', { env: current.name, review: review.id, problem });
    if (!review.by) return why(`${review.login ?? 'the reviewer'} is not mapped to an approver`);
    if (review.commitId !== current.commit)
      return why(`given at ${review.commitId?.slice(0, 12) ?? 'no commit'}, not the proposal's head`);
    const approved = review.kind === 'approved';
    const input: DecisionInput = {
      env: current.name,
      approved,
      by: review.by,
      commit: current.commit,
      via: 'github-review',
      ...(approved
        ? {}
        : { comment: review.body?.trim() || `changes requested on pull request #${pullRequest}` }),
    };
    const problem = ctx.decisionProblem(input);
    if (problem) return why(problem);
    ctx.record(input, {
      via: 'github-review',
      review: {
        id: review.id,
        pullRequest,
        login: review.login ?? '',
        ...(review.url ? { url: review.url } : {}),
      },
    });
  }

  /** A poll sees every review: the latest decision per reviewer is the one that stands. */
  function latestPerReviewer(reviews: ReadReview[]): ReadReview[] {
    const latest = new Map<string, ReadReview>();
    for (const review of reviews)
      if (review.kind !== 'other') latest.set(review.login ?? String(review.id), review);
    return [...latest.values()];
  }

  /**
   * Starts watching `current`'s pull request while it waits; returns the stop. Runs without a pull
   * request, or recorded before the `pr-review-approvals` patch, watch nothing.
   */
  function watch(env: EnvironmentConfig, current: EnvironmentState): (() => void) | undefined {
    const pullRequest = current.proposal?.pullRequest;
    if (pullRequest === undefined || !patched('pr-review-approvals')) return undefined;
    const config = ctx.config();
    if (!config) return undefined;
    const users = config.github?.users ?? {};
    const poll = config.github?.reviewPoll;
    const firstPollMs = poll === 'off' ? undefined : (poll ?? DEFAULT_POLL_MS);
    const scope = new CancellationScope();
    const read = async (reviewIds?: number[]) => {
      try {
        return await pullRequestReviews({
          repo: ctx.state.repo,
          pullRequest,
          users,
          ...(reviewIds ? { reviewIds } : {}),
        });
      } catch (error) {
        if (CancellationScope.current().consideredCancelled) throw error;
        log.warn('could not read pull request reviews', { env: env.name, error: String(error) });
        return [];
      }
    };
    scope
      .run(async () => {
        let interval = firstPollMs;
        for (;;) {
          const hasNudge = () => (pending.get(pullRequest)?.length ?? 0) > 0;
          // Without a poll (`reviewPoll: off`) only a nudge wakes it.
          const nudged =
            interval === undefined
              ? await condition(hasNudge).then(() => true)
              : await condition(hasNudge, interval);
          if (nudged) {
            const ids = pending.get(pullRequest) ?? [];
            pending.delete(pullRequest);
            for (const review of await read(ids)) consider(review, current, pullRequest);
          } else {
            for (const review of latestPerReviewer(await read())) consider(review, current, pullRequest);
            if (interval !== undefined) interval = Math.max(interval, Math.min(interval * 2, MAX_POLL_MS));
          }
          if (current.decision) return;
        }
      })
      .catch(() => undefined);
    return () => scope.cancel();
  }

  return { watch };
}
