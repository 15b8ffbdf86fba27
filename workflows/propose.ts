import { CancellationScope, log, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { DEFAULT_PROPOSAL_BRANCH, proposalBranchName } from '../common/proposal.js';
import type { EnvironmentConfig } from '../config/schema.js';
import type { EnvironmentState, Proposal } from '../common/types.js';
import { acquireEnvironment, reassertWhileHolding } from './acquire.js';
import type { Outcome, Progress, PromotionRun } from './steps.js';
import { apply, approval, bumpInput, deployAt, diff, fail, newProgress, release } from './steps.js';
import { skip, stopBeforeApply, superseded } from './steps.js';
import { failureMessage, now, tagValue } from './values.js';
import { TIMEOUTS } from './timeouts.js';
import { sagaCommitSearch } from './saga.js';

/**
 * A manual environment: the bump is proposed on its own branch and diffed there; approval is awaited
 * without holding the environment; on approval the lock is taken only to land (re-checking that the
 * lines it changes are as proposed), apply and announce. A proposal whose lines changed meanwhile is
 * rebuilt and asked again. Ending before landing deletes the proposal: the deployment branch never saw it.
 */

const stepGit = proxyActivities<Activities>(TIMEOUTS.gitStep);
const { supersedeProposals } = proxyActivities<Activities>(TIMEOUTS.lookup);

/** The proposal flow's progress: its undo and its cleanup read it. */
interface Proposing extends Progress {
  proposal: Proposal;
  /** Which landing the lock request is for: undefined for the first, 2 and up after a rebuild. */
  landing?: number | undefined;
  landed: boolean;
  announcedStart: boolean;
}

/** One round's proposal commit, as `proposeBump` made it. */
type Made = Awaited<ReturnType<typeof stepGit.proposeBump>>;

export async function runProposal(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
): Promise<Outcome> {
  const template = env.proposalBranch ?? p.config.proposalBranch ?? DEFAULT_PROPOSAL_BRANCH;
  const proposal: Proposal = {
    branch: proposalBranchName(template, env.name, p.state.id),
    phase: 'proposing',
  };
  current.proposal = proposal;
  const flow: Proposing = { ...newProgress(), proposal, landed: false, announcedStart: false };
  const undo = (reason: string) => undoProposal(p, env, current, flow, reason);
  try {
    current.startedAt = now();
    for (let round = 0; ; round++) {
      const made = await propose(p, env, current, proposal, round);
      if (!made) return skip(p, env, current);
      await review(p, env, current, flow, made);
      proposal.phase = 'proposed';
      const again = proposal.reason ? ` again (${proposal.reason})` : '';
      // Only a proposal has a pull request whose reviews may approve it.
      const stop = await approval(p, env, current, again, p.watchReviews);
      if (stop) return await stopBeforeApply(p, env, current, stop, undo);
      // Approved: the environment is taken only now, to land, apply and announce.
      if (!(await takeToLand(p, env, current, flow)))
        return await stopBeforeApply(p, env, current, superseded(p, env, current), undo);
      // Release governance: a block or a closed environment is looked at under the lock, before landing.
      const blocked = await p.governance.beforeApply(current);
      if (blocked)
        return await stopBeforeApply(p, env, current, { outcome: 'blocked', reason: blocked }, undo);
      const landed = await land(p, env, current, flow, made);
      if (landed === undefined) continue;
      return await apply(p, env, current, deployAt(p, env, landed), flow, true);
    }
  } catch (error) {
    return await fail(p, env, current, error, undo, () => Boolean(proposal.commit || current.revertCommit));
  } finally {
    await release(p, env, flow, flow.landing);
  }
}

/** Makes (or remakes) the proposal commit; undefined when the environment already runs the tags. */
async function propose(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  proposal: Proposal,
  round: number,
): Promise<Made | undefined> {
  proposal.phase = 'proposing';
  p.status.setStatus(current, 'bumping', `proposing ${env.name} on ${proposal.branch}`);
  const made = await stepGit.proposeBump({ ...bumpInput(p, env), proposalBranch: proposal.branch });
  current.previousTag = tagValue(made.previousTags);
  if (!made.changed && !p.request.force) {
    delete current.proposal;
    current.commit = made.commit;
    return undefined;
  }
  proposal.commit = made.commit;
  proposal.base = made.base;
  current.commit = made.commit;
  if (round === 0) {
    await supersedeProposals({
      repo: p.request.repo,
      env: env.name,
      apps: p.apps.map((a) => a.app),
      by: p.state.id,
      byStartedAt: p.state.startedAt,
    });
  }
  return made;
}

/** Diffs the proposal and shows it for review (a pull request on GitHub); the start is announced once. */
async function review(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  flow: Proposing,
  made: Made,
) {
  const { proposal } = flow;
  const branch = made.changed ? proposal.branch : p.config.branch;
  const details = `diffing ${env.name} at proposal ${made.commit.slice(0, 12)}`;
  const diffed = await diff(p, current, deployAt(p, env, made.commit, branch), details);
  if (made.changed) {
    const title = bumpInput(p, env)
      .edits.map((e) => `${e.app} to ${e.tag}`)
      .join(', ');
    const published = await stepGit.publishProposal({
      repo: p.request.repo,
      branch: p.config.branch,
      proposalBranch: proposal.branch,
      commit: made.commit,
      title: `feat(${env.name}): update ${title}`,
      body: `Promotion \`${p.state.id}\` asks to deploy this to ${env.name}.\n\nApprove with \`promote approve ${p.state.id} --env ${env.name} --commit ${made.commit}\`.\n\n\`\`\`\n${diffSummary(diffed.output)}\n\`\`\`\n`,
    });
    if (published.url) proposal.url = published.url;
    if (published.pullRequest !== undefined) proposal.pullRequest = published.pullRequest;
  }
  if (!flow.announcedStart) {
    flow.announcedStart = true;
    await p.announcer.progress(current, env, 'started');
  }
}

/** The diff's first lines for a pull request body: enough to review, bounded for GitHub. */
function diffSummary(diff: string): string {
  const lines = diff.trim().split('\n');
  const shown = lines.slice(0, 80).join('\n');
  return lines.length > 80 ? `${shown}\n… (${lines.length - 80} more lines)` : shown;
}

/** Queues for the environment to land; false when a newer promotion took this one's place. */
async function takeToLand(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  flow: Proposing,
) {
  p.status.setStatus(current, 'queued', `approved; waiting for ${env.name} to be free to land`);
  flow.requested = true;
  // A rebuilt proposal lands anew: the lock must not take the request for a late copy of the last one.
  flow.landing = flow.proposal.rebuilds ? flow.proposal.rebuilds + 1 : undefined;
  p.lock.want(env.name);
  const reassertMs = await acquireEnvironment({
    request: p.lock.request(env, p.config, p.apps, flow.landing),
    current,
    decided: () => p.lock.decided(env.name),
    grantedInAnswer: () => p.lock.grantedInAnswer(env.name),
    queuedBehind: (holder) =>
      p.status.setStatus(current, 'queued', `approved; queued for ${env.name} behind ${holder}`),
    ...(env.lockTimeout !== undefined ? { lockTimeoutMs: env.lockTimeout } : {}),
  });
  if (!p.lock.granted.has(env.name)) return false;
  if (patched('landing-reasserts')) {
    // Like a held environment: a lock terminated or reset while this landing holds it learns it back.
    flow.holding = reassertWhileHolding(
      p.lock.request(env, p.config, p.apps, flow.landing),
      reassertMs,
      () => ({
        applying: flow.applyStarted && !flow.applyEnded,
        applied: flow.applyStarted,
      }),
    );
  }
  return true;
}

/**
 * Lands the approved proposal on the deployment branch, under the lock; resolves the landed commit,
 * or undefined when the proposal went stale (its lines changed, or it was merged by hand) and was
 * set up to be proposed again on the new head and asked again: never applied silently.
 */
async function land(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  flow: Proposing,
  made: Made,
): Promise<string | undefined> {
  const { proposal } = flow;
  // Merged by hand meanwhile: never landed silently. Reverted under the lock held now.
  const handMerged =
    made.changed && patched('hand-merged-proposal')
      ? await CancellationScope.nonCancellable(() => revertHandMerge(p, env, current, flow, 'approved'))
      : undefined;
  if (handMerged) delete current.revertCommit;
  proposal.phase = 'landing';
  p.status.setStatus(
    current,
    'bumping',
    `landing proposal ${made.commit.slice(0, 12)} on ${p.config.branch}`,
  );
  const result = handMerged
    ? {
        stale: `the proposal was merged outside Promote before it landed; reverted by ${handMerged.slice(0, 12)}`,
      }
    : made.changed
      ? await stepGit.landProposal({
          ...bumpInput(p, env),
          proposalBranch: proposal.branch,
          proposal: {
            commit: made.commit,
            base: made.base,
            changes: made.changes,
            ...(proposal.pullRequest !== undefined ? { pullRequest: proposal.pullRequest } : {}),
          },
        })
      : { commit: made.commit };
  if ('stale' in result) {
    await rebuild(p, env, current, flow, result.stale);
    return undefined;
  }
  flow.landed = true;
  proposal.phase = 'landed';
  current.commit = result.commit;
  if (made.changed) await dropBranch(p, proposal, 'landed');
  return result.commit;
}

/** A stale proposal: the environment is released and the proposal made again and asked again. */
async function rebuild(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  flow: Proposing,
  why: string,
) {
  const { proposal } = flow;
  p.lock.granted.delete(env.name);
  flow.holding?.cancel();
  flow.holding = undefined;
  await p.lock.release(env.name, flow.landing);
  flow.requested = false;
  proposal.reason = why;
  proposal.rebuilds = (proposal.rebuilds ?? 0) + 1;
  delete current.decision;
  delete proposal.pullRequest;
  delete proposal.url;
}

/**
 * Undo: a proposal merged by hand is reverted; a landing cut short (cancel, failure) may have pushed
 * before it ended: its trailers tell, and a bump found on the deployment branch is reverted like a
 * landed one (nothing found: no commit). A proposal that never landed is deleted.
 */
async function undoProposal(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  flow: Proposing,
  reason: string,
): Promise<void> {
  const { proposal } = flow;
  if (
    !flow.landed &&
    proposal.phase !== 'landing' &&
    proposal.phase !== 'dropped' &&
    patched('hand-merged-proposal')
  )
    await revertHandMerge(p, env, current, flow, reason).catch((error: unknown) => {
      // The search itself failed (the remote unreachable): said in the log, the proposal still dropped.
      log.warn('could not check for a proposal merged outside Promote', {
        branch: proposal.branch,
        error: failureMessage(error),
      });
    });
  if (flow.landed || proposal.phase === 'landing')
    await p.compensation.compensateRun(env, current, flow.applyStarted, reason);
  if (!flow.landed && proposal.phase !== 'dropped') {
    proposal.phase = 'dropped';
    await dropBranch(p, proposal, reason);
  }
}

/**
 * A proposal merged by hand (its branch or pull request) put a bump nobody approved through Promote on
 * the deployment branch: found by its trailers, it is reverted under the environment's lock like a
 * landed bump. Returns the revert commit, or undefined when the deployment branch never took it.
 */
async function revertHandMerge(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  flow: Proposing,
  reason: string,
): Promise<string | undefined> {
  const { proposal } = flow;
  if (!proposal.commit || proposal.commit === proposal.base) return undefined;
  const found = await stepGit.mergedProposal({
    promotionId: p.state.id,
    ...sagaCommitSearch(p.saga, p.state.configCommit),
    repo: p.request.repo,
    branch: p.config.branch,
    env: env.name,
    sinceCommit: p.state.configCommit ?? '',
  });
  if (!found.commit) return undefined;
  if (!p.lock.granted.has(env.name)) {
    const waiting = `${env.name}: proposal merged outside Promote; waiting for the lock to revert it`;
    p.status.setStatus(current, current.status, waiting);
    flow.requested = true;
    p.lock.want(env.name);
    // Only the grant counts here: a superseded promotion still owes the revert.
    await acquireEnvironment({
      request: p.lock.request(env, p.config, p.apps, flow.landing),
      current,
      decided: () => p.lock.granted.has(env.name),
      grantedInAnswer: () => p.lock.grantedInAnswer(env.name),
      queuedBehind: () => undefined,
    });
  }
  const why = `${reason}; its proposal ${found.commit.slice(0, 12)} was merged outside Promote`;
  await p.compensation.compensateRun(env, current, false, why);
  return current.revertCommit;
}

/** Deletes the proposal branch (closing its pull request); the deployment branch is untouched either way. */
async function dropBranch(p: PromotionRun, proposal: Proposal, reason: string): Promise<void> {
  if (!proposal.commit || proposal.commit === proposal.base) return;
  try {
    await stepGit.dropProposal({
      repo: p.request.repo,
      branch: p.config.branch,
      proposalBranch: proposal.branch,
      ...(proposal.pullRequest !== undefined ? { pullRequest: proposal.pullRequest } : {}),
      reason,
    });
  } catch (error) {
    // Left behind, the branch is clutter, not a risk: nothing reads it once the promotion ended.
    log.warn('could not delete the proposal branch', {
      branch: proposal.branch,
      error: failureMessage(error),
    });
  }
}
