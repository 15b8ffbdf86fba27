import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
} from '@temporalio/workflow';
import type { Activities, DeployResult } from '../activities/index.js';
import { bumpEdits } from './bump-edits.js';
import { DEFAULT_PROPOSAL_BRANCH, proposalBranchName } from '../common/proposal.js';
import type { EnvironmentConfig, PromoteConfig } from '../config/schema.js';
import { DEFAULT_APPROVAL_TIMEOUT_MS } from '../common/constants.js';
import type {
  AppRequest,
  EnvironmentState,
  EnvironmentStatus,
  PromotionRequest,
  PromotionState,
  Proposal,
  TagValue,
} from '../common/types.js';
import { acquireEnvironment, reassertWhileHolding } from './acquire.js';
import type { Announcer } from './announcer.js';
import { TIMEOUTS } from './timeouts.js';

const stepGit = proxyActivities<Activities>(TIMEOUTS.gitStep);
const { deploy } = proxyActivities<Activities>(TIMEOUTS.deploy);
const { supersedeProposals } = proxyActivities<Activities>(TIMEOUTS.lookup);

/** What the promotion shares with a manual environment's proposal flow. */
export interface ProposalContext {
  state: PromotionState;
  request: PromotionRequest;
  config: PromoteConfig;
  apps: AppRequest[];
  run?: string;
  /** The execution's own run id (differs from `run` after a reset): see promote.ts. */
  current?: string;
  /** The environment's lock id for a request; kept from the first request on (see promote.ts). */
  lockId: (env: string) => string;
  announcer: Announcer;
  granted: Set<string>;
  supersededBy: Map<string, string>;
  setStatus: (env: EnvironmentState, status: EnvironmentStatus, details: string) => void;
  recordObserved: (current: EnvironmentState, result: DeployResult, step: 'diff' | 'apply') => void;
  releaseEnvironment: (env: string, landing?: number) => Promise<void>;
  /** Marks the environment asked for: a grant from here until the release counts as holding it. */
  wantEnvironment: (env: string) => void;
  tellLockApplying: (env: string, applying: boolean) => Promise<void>;
  /** Reverts this run's landed bump (found by its trailers) and rolls back a started apply. */
  compensateRun: (
    env: EnvironmentConfig,
    current: EnvironmentState,
    applyStarted: boolean,
    reason: string,
  ) => Promise<void>;
  tagValue: (tags: Record<string, string>) => TagValue;
  failureMessage: (error: unknown) => string;
  /** GitHub: counts pull request reviews while the environment waits (review-approvals.ts); returns the stop. */
  watchReviews?: (env: EnvironmentConfig, current: EnvironmentState) => (() => void) | undefined;
}

type ProposalOutcome = 'succeeded' | 'skipped' | 'rejected' | 'superseded' | 'failed' | 'cancelled';

const now = () => new Date().toISOString();

/** The diff's first lines for a pull request body: enough to review, bounded for GitHub. */
function diffSummary(diff: string): string {
  const lines = diff.trim().split('\n');
  const shown = lines.slice(0, 80).join('\n');
  return lines.length > 80 ? `${shown}\n… (${lines.length - 80} more lines)` : shown;
}

/**
 * A manual environment: the bump is proposed on its own branch and diffed there; approval is awaited
 * without holding the environment; on approval the lock is taken only to land (re-checking that the
 * lines it changes are as proposed), apply and announce. A proposal whose lines changed meanwhile is
 * rebuilt and asked again. Ending before landing deletes the proposal: the deployment branch never saw it.
 */
export async function runProposal(
  ctx: ProposalContext,
  env: EnvironmentConfig,
  current: EnvironmentState,
): Promise<ProposalOutcome> {
  const { state, request, config, apps, run, current: execution, setStatus, announcer } = ctx;
  const template = env.proposalBranch ?? config.proposalBranch ?? DEFAULT_PROPOSAL_BRANCH;
  const proposal: Proposal = { branch: proposalBranchName(template, env.name, state.id), phase: 'proposing' };
  current.proposal = proposal;
  let requested = false;
  /** Which landing the lock request is for: undefined for the first, 2 and up after a rebuild. */
  let landing: number | undefined;
  let landed = false;
  let applyStarted = false;
  let applyEnded = false;
  let announcedStart = false;
  /** While landing holds the environment: the scope re-asserting it to the lock, cancelled at release. */
  let holding: CancellationScope | undefined;

  const bumpInput = {
    promotionId: state.id,
    ...(run ? { run } : {}),
    repo: request.repo,
    branch: config.branch,
    env: env.name,
    valuesFile: env.valuesFile,
    sinceCommit: state.configCommit ?? '',
    kind: state.kind,
    ...bumpEdits(config, apps),
    proposalBranch: proposal.branch,
  };

  /** Deletes the proposal branch (closing its pull request); the deployment branch is untouched either way. */
  async function dropBranch(reason: string): Promise<void> {
    if (!proposal.commit || proposal.commit === proposal.base) return;
    try {
      await stepGit.dropProposal({
        repo: request.repo,
        branch: config.branch,
        proposalBranch: proposal.branch,
        ...(proposal.pullRequest !== undefined ? { pullRequest: proposal.pullRequest } : {}),
        reason,
      });
    } catch (error) {
      // Left behind, the branch is clutter, not a risk: nothing reads it once the promotion ended.
      log.warn('could not delete the proposal branch', {
        branch: proposal.branch,
        error: ctx.failureMessage(error),
      });
    }
  }

  /** The promotion's lock request, as for landing (the same `landing`, so a request already made is kept). */
  const lockRequest = () => ({
    repo: request.repo,
    env: env.name,
    holder: state.id,
    apps: apps.map((a) => a.app),
    branch: config.branch,
    valuesFile: env.valuesFile,
    lockId: ctx.lockId(env.name),
    ...(run ? { run } : {}),
    ...(execution ? { current: execution } : {}),
    ...(landing ? { landing } : {}),
  });

  /**
   * A proposal merged by hand (its branch or pull request) put a bump nobody approved through Promote on
   * the deployment branch: found by its trailers, it is reverted under the environment's lock like a
   * landed bump. Returns the revert commit, or undefined when the deployment branch never took it.
   */
  async function revertHandMerge(reason: string): Promise<string | undefined> {
    if (!proposal.commit || proposal.commit === proposal.base) return undefined;
    const found = await stepGit.mergedProposal({
      promotionId: state.id,
      ...(run ? { run } : {}),
      repo: request.repo,
      branch: config.branch,
      env: env.name,
      sinceCommit: state.configCommit ?? '',
    });
    if (!found.commit) return undefined;
    if (!ctx.granted.has(env.name)) {
      setStatus(
        current,
        current.status,
        `${env.name}: proposal merged outside Promote; waiting for the lock to revert it`,
      );
      requested = true;
      ctx.wantEnvironment(env.name);
      // Only the grant counts here: a superseded promotion still owes the revert.
      await acquireEnvironment({
        request: lockRequest(),
        current,
        decided: () => ctx.granted.has(env.name),
        queuedBehind: () => undefined,
      });
    }
    const why = `${reason}; its proposal ${found.commit.slice(0, 12)} was merged outside Promote`;
    await ctx.compensateRun(env, current, false, why);
    return current.revertCommit;
  }

  async function undo(reason: string): Promise<void> {
    if (
      !landed &&
      proposal.phase !== 'landing' &&
      proposal.phase !== 'dropped' &&
      patched('hand-merged-proposal')
    )
      await revertHandMerge(reason).catch((error: unknown) => {
        // The search itself failed (the remote unreachable): said in the log, the proposal still dropped.
        log.warn('could not check for a proposal merged outside Promote', {
          branch: proposal.branch,
          error: ctx.failureMessage(error),
        });
      });
    // A landing cut short (cancel, failure) may have pushed before it ended: its trailers tell, and
    // a bump found on the deployment branch is reverted like a landed one (nothing found: no commit).
    if (landed || proposal.phase === 'landing') await ctx.compensateRun(env, current, applyStarted, reason);
    if (!landed && proposal.phase !== 'dropped') {
      proposal.phase = 'dropped';
      await dropBranch(reason);
    }
  }

  async function stop(outcome: 'rejected' | 'superseded', reason: string): Promise<ProposalOutcome> {
    current.finishedAt = now();
    setStatus(current, outcome, `${env.name}: ${reason}`);
    await CancellationScope.nonCancellable(async () => {
      await undo(reason);
      await announcer.outcome(current, env, outcome, reason);
    });
    return outcome;
  }

  const superseded = () => {
    current.supersededBy = ctx.supersededBy.get(env.name);
    return stop('superseded', `superseded by ${current.supersededBy}`);
  };

  try {
    current.startedAt = now();
    for (let round = 0; ; round++) {
      proposal.phase = 'proposing';
      setStatus(current, 'bumping', `proposing ${env.name} on ${proposal.branch}`);
      const made = await stepGit.proposeBump(bumpInput);
      current.previousTag = ctx.tagValue(made.previousTags);
      if (!made.changed && !request.force) {
        delete current.proposal;
        current.commit = made.commit;
        current.finishedAt = now();
        setStatus(current, 'skipped', `${env.name} already runs the requested tags`);
        return 'skipped';
      }
      proposal.commit = made.commit;
      proposal.base = made.base;
      current.commit = made.commit;
      if (round === 0) {
        await supersedeProposals({
          repo: request.repo,
          env: env.name,
          apps: apps.map((a) => a.app),
          by: state.id,
          byStartedAt: state.startedAt,
        });
      }

      setStatus(current, 'diffing', `diffing ${env.name} at proposal ${made.commit.slice(0, 12)}`);
      const diffed = await deploy({
        repo: request.repo,
        branch: made.changed ? proposal.branch : config.branch,
        commit: made.commit,
        env: env.name,
        promotionId: state.id,
        deploy: config.deploy,
        action: 'diff',
      });
      current.diff = diffed.output;
      ctx.recordObserved(current, diffed, 'diff');
      if (made.changed) {
        const title = bumpInput.edits.map((e) => `${e.app} to ${e.tag}`).join(', ');
        const published = await stepGit.publishProposal({
          repo: request.repo,
          branch: config.branch,
          proposalBranch: proposal.branch,
          commit: made.commit,
          title: `feat(${env.name}): update ${title}`,
          body: `Promotion \`${state.id}\` asks to deploy this to ${env.name}.\n\nApprove with \`promote approve ${state.id} --env ${env.name} --commit ${made.commit}\`.\n\n\`\`\`\n${diffSummary(diffed.output)}\n\`\`\`\n`,
        });
        if (published.url) proposal.url = published.url;
        if (published.pullRequest !== undefined) proposal.pullRequest = published.pullRequest;
      }
      if (!announcedStart) {
        announcedStart = true;
        await announcer.progress(current, env, 'started');
      }

      proposal.phase = 'proposed';
      const who = env.approvers ? env.approvers.join(', ') : 'anyone';
      const again = proposal.reason ? ` again (${proposal.reason})` : '';
      setStatus(current, 'waiting-approval', `waiting for approval${again} in ${env.name}: ${who}`);
      await announcer.progress(current, env, 'waiting-approval');
      const stopReviews = ctx.watchReviews?.(env, current);
      const decided = await condition(
        () => current.decision !== undefined || ctx.supersededBy.has(env.name),
        env.approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT_MS,
        { summary: `approval timeout for ${env.name}` },
      ).finally(() => stopReviews?.());
      if (!decided)
        throw ApplicationFailure.create({ message: 'approval timed out', type: 'ApprovalTimedOut' });
      if (!current.decision) return await superseded();
      if (!current.decision.approved) {
        current.error = `rejected by ${current.decision.by}: ${current.decision.comment ?? ''}`;
        return await stop('rejected', current.error);
      }

      // Approved: the environment is taken only now, to land, apply and announce.
      setStatus(current, 'queued', `approved; waiting for ${env.name} to be free to land`);
      requested = true;
      // A rebuilt proposal lands anew: the lock must not take the request for a late copy of the last one.
      landing = proposal.rebuilds ? proposal.rebuilds + 1 : undefined;
      ctx.wantEnvironment(env.name);
      const reassertMs = await acquireEnvironment({
        request: lockRequest(),
        current,
        decided: () => ctx.granted.has(env.name) || ctx.supersededBy.has(env.name),
        queuedBehind: (holder) =>
          setStatus(current, 'queued', `approved; queued for ${env.name} behind ${holder}`),
        ...(env.lockTimeout !== undefined ? { lockTimeoutMs: env.lockTimeout } : {}),
      });
      if (!ctx.granted.has(env.name)) return await superseded();
      if (patched('landing-reasserts')) {
        // Like a held environment: a lock terminated or reset while this landing holds it learns it back.
        holding = reassertWhileHolding(lockRequest(), reassertMs, () => ({
          applying: applyStarted && !applyEnded,
          applied: applyStarted,
        }));
      }

      // Merged by hand meanwhile: never landed silently. Reverted under the lock held now, then proposed
      // again on the new head and asked again.
      const handMerged =
        made.changed && patched('hand-merged-proposal')
          ? await CancellationScope.nonCancellable(() => revertHandMerge('approved'))
          : undefined;
      if (handMerged) delete current.revertCommit;
      proposal.phase = 'landing';
      setStatus(current, 'bumping', `landing proposal ${made.commit.slice(0, 12)} on ${config.branch}`);
      const result = handMerged
        ? {
            stale: `the proposal was merged outside Promote before it landed; reverted by ${handMerged.slice(0, 12)}`,
          }
        : made.changed
          ? await stepGit.landProposal({
              ...bumpInput,
              proposal: {
                commit: made.commit,
                base: made.base,
                changes: made.changes,
                ...(proposal.pullRequest !== undefined ? { pullRequest: proposal.pullRequest } : {}),
              },
            })
          : { commit: made.commit };
      if ('stale' in result) {
        // Never applied silently: the proposal is made again on the new head and approval asked again.
        ctx.granted.delete(env.name);
        holding?.cancel();
        holding = undefined;
        await ctx.releaseEnvironment(env.name, landing);
        requested = false;
        proposal.reason = result.stale;
        proposal.rebuilds = (proposal.rebuilds ?? 0) + 1;
        delete current.decision;
        delete proposal.pullRequest;
        delete proposal.url;
        continue;
      }
      landed = true;
      proposal.phase = 'landed';
      current.commit = result.commit;
      if (made.changed) await dropBranch('landed');

      applyStarted = true;
      setStatus(current, 'applying', `applying ${env.name} at ${result.commit.slice(0, 12)}`);
      await ctx.tellLockApplying(env.name, true);
      const applied = await deploy({
        repo: request.repo,
        branch: config.branch,
        commit: result.commit,
        env: env.name,
        promotionId: state.id,
        deploy: config.deploy,
        action: 'apply',
      });
      applyEnded = true;
      current.applyOutput = applied.output;
      ctx.recordObserved(current, applied, 'apply');
      await ctx.tellLockApplying(env.name, false);
      current.finishedAt = now();
      setStatus(current, 'succeeded', `${env.name} deployed`);
      await CancellationScope.nonCancellable(() => announcer.outcome(current, env, 'deployed'));
      return 'succeeded';
    }
  } catch (error) {
    const cancelled = isCancellation(error);
    current.error = cancelled ? 'cancelled' : ctx.failureMessage(error);
    current.finishedAt = now();
    setStatus(current, 'failed', `${env.name} ${cancelled ? 'cancelled' : `failed: ${current.error}`}`);
    await CancellationScope.nonCancellable(async () => {
      await undo(current.error ?? 'failed');
      if (current.revertCommit && current.status !== 'compensation-failed')
        setStatus(current, 'reverted', `${env.name} reverted after: ${current.error}`);
      if (proposal.commit || current.revertCommit)
        await announcer.outcome(current, env, cancelled ? 'cancelled' : 'failed', current.error);
    });
    return cancelled ? 'cancelled' : 'failed';
  } finally {
    holding?.cancel();
    if (requested) await CancellationScope.nonCancellable(() => ctx.releaseEnvironment(env.name, landing));
  }
}
