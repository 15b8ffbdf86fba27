import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
} from '@temporalio/workflow';
import type { Activities, DeployInput, DeployResult } from '../activities/index.js';
import type { EnvironmentConfig, PromoteConfig } from '../config/schema.js';
import { DEFAULT_APPROVAL_TIMEOUT_MS } from '../common/constants.js';
import type { AppRequest, EnvironmentState, PromotionRequest, PromotionState } from '../common/types.js';
import type { Announcer } from './announcer.js';
import { bumpEdits } from './bump-edits.js';
import type { Compensation } from './compensate.js';
import type { Governed } from './governance-rules.js';
import type { EnvironmentLock } from './lock-client.js';
import type { StatusWriter } from './promotion-state.js';
import { sagaCommitSearch, type Saga } from './saga.js';
import { failureMessage, now } from './values.js';
import { TIMEOUTS } from './timeouts.js';

/**
 * The steps an environment goes through that the held flow (held.ts) and the proposal flow
 * (propose.ts) share: diff, approval, apply, and how an environment ends (skipped, stopped before
 * apply, failed). Each takes what it works on and returns what it found; none keeps state of its own.
 */

const { deploy } = proxyActivities<Activities>(TIMEOUTS.deploy);

/** What a promotion run works with once promote.yaml is loaded; fixed for the whole run. */
export interface PromotionRun {
  state: PromotionState;
  request: PromotionRequest;
  config: PromoteConfig;
  apps: AppRequest[];
  saga: Saga;
  lock: EnvironmentLock;
  status: StatusWriter;
  announcer: Announcer;
  compensation: Compensation;
  /** Release governance (issue 22): blocks, windows and freezes, soak (workflows/governance-rules.ts). */
  governance: Governed;
  /** GitHub: counts pull request reviews while a proposal waits (review-approvals.ts); returns the stop. */
  watchReviews?: WatchReviews;
}

/** Starts watching an environment's pull request reviews; returns the stop (undefined: nothing watched). */
export type WatchReviews = (env: EnvironmentConfig, current: EnvironmentState) => (() => void) | undefined;

/** How one environment ended; anything but succeeded or skipped stops the promotion. */
export type Outcome =
  'succeeded' | 'skipped' | 'rejected' | 'superseded' | 'failed' | 'cancelled' | 'blocked';

/** Why an environment ends before its apply, and what to tell people. */
export interface Stop {
  outcome: 'rejected' | 'superseded' | 'blocked';
  reason: string;
}

/** Where an environment's lock and apply stand: read by the re-asserting holder and the cleanup. */
export interface Progress {
  /** The environment was asked for: it is released when the environment ends. */
  requested: boolean;
  applyStarted: boolean;
  applyEnded: boolean;
  /** While holding the environment: the scope that re-asserts it to the lock, cancelled at release. */
  holding?: CancellationScope | undefined;
}

export const newProgress = (): Progress => ({ requested: false, applyStarted: false, applyEnded: false });

/** Undoes the environment's effects (revert, rollback; for a proposal, drop it). */
export type Undo = (reason: string) => Promise<void>;

/** The deploy request for one environment at one commit (`action` added per step). */
export function deployAt(p: PromotionRun, env: EnvironmentConfig, commit: string, branch = p.config.branch) {
  return {
    repo: p.request.repo,
    branch,
    commit,
    env: env.name,
    promotionId: p.state.id,
    deploy: p.config.deploy,
  };
}

/** The bump of one environment: the same request for the deployment branch and for a proposal. */
export function bumpInput(p: PromotionRun, env: EnvironmentConfig) {
  return {
    promotionId: p.state.id,
    ...sagaCommitSearch(p.saga, p.state.configCommit),
    repo: p.request.repo,
    branch: p.config.branch,
    env: env.name,
    valuesFile: env.valuesFile,
    sinceCommit: p.state.configCommit ?? '',
    kind: p.state.kind,
    ...bumpEdits(p.config, p.apps),
  };
}

/** The environment already runs the requested tags: nothing to do. */
export function skip(p: PromotionRun, env: EnvironmentConfig, current: EnvironmentState): Outcome {
  current.finishedAt = now();
  p.status.setStatus(current, 'skipped', `${env.name} already runs the requested tags`);
  return 'skipped';
}

/** Diffs the environment against the commit to deploy; the output is what approvers review. */
export async function diff(
  p: PromotionRun,
  current: EnvironmentState,
  input: Omit<DeployInput, 'action'>,
  details: string,
): Promise<DeployResult> {
  p.status.setStatus(current, 'diffing', details);
  return recordDiff(p, current, await deploy({ ...input, action: 'diff' }));
}

/** Keeps a diff's output (what approvers review) and what the deployer observed while diffing. */
export function recordDiff(p: PromotionRun, current: EnvironmentState, diffed: DeployResult): DeployResult {
  current.diff = diffed.output;
  p.status.recordObserved(current, diffed, 'diff');
  return diffed;
}

/** Superseded by a newer promotion of the same apps. */
export function superseded(p: PromotionRun, env: EnvironmentConfig, current: EnvironmentState): Stop {
  current.supersededBy = p.lock.supersededBy.get(env.name);
  return { outcome: 'superseded', reason: `superseded by ${current.supersededBy}` };
}

/**
 * A manual environment waits for its decision (or a supersede) up to its approval timeout.
 * Resolves undefined when approved; throws `ApprovalTimedOut` when nobody decided in time.
 */
export async function approval(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  again = '',
  watchReviews?: WatchReviews,
): Promise<Stop | undefined> {
  const who = env.approvers ? env.approvers.join(', ') : 'anyone';
  p.status.setStatus(current, 'waiting-approval', `waiting for approval${again} in ${env.name}: ${who}`);
  await p.announcer.progress(current, env, 'waiting-approval');
  const stopReviews = watchReviews?.(env, current);
  const decided = await condition(
    () => current.decision !== undefined || p.lock.supersededBy.has(env.name) || p.governance.interrupted(),
    env.approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT_MS,
    { summary: `approval timeout for ${env.name}` },
  ).finally(() => stopReviews?.());
  if (!decided) throw ApplicationFailure.create({ message: 'approval timed out', type: 'ApprovalTimedOut' });
  const blocked = p.governance.blocked();
  if (blocked) return { outcome: 'blocked', reason: blocked };
  if (!current.decision) return superseded(p, env, current);
  if (!current.decision.approved) {
    current.error = `rejected by ${current.decision.by}: ${current.decision.comment ?? ''}`;
    return { outcome: 'rejected', reason: current.error };
  }
  return undefined;
}

/** Ends the environment without deploying: its effects are undone and the outcome announced. */
export async function stopBeforeApply(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  stop: Stop,
  undo: Undo,
): Promise<Outcome> {
  if (stop.outcome === 'blocked') current.error = stop.reason;
  current.finishedAt = now();
  p.status.setStatus(current, stop.outcome, `${env.name}: ${stop.reason}`);
  await CancellationScope.nonCancellable(async () => {
    await undo(stop.reason);
    // Announced as cancelled: the announcement's outcomes predate blocks.
    const announced = stop.outcome === 'blocked' ? 'cancelled' : stop.outcome;
    await p.announcer.outcome(current, env, announced, stop.reason);
  });
  return stop.outcome;
}

/**
 * Applies the commit, telling the lock (`tellLock`) when the apply starts and ends so a holder lost
 * after applying is never reverted by it, then announces the deploy.
 */
export async function apply(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  input: Omit<DeployInput, 'action'>,
  progress: Progress,
  tellLock: boolean,
): Promise<Outcome> {
  progress.applyStarted = true;
  p.status.setStatus(current, 'applying', `applying ${env.name} at ${input.commit.slice(0, 12)}`);
  if (tellLock) await p.lock.tellApplying(env.name, true);
  const applied = await deploy({ ...input, action: 'apply' });
  progress.applyEnded = true;
  current.applyOutput = applied.output;
  p.status.recordObserved(current, applied, 'apply');
  if (tellLock) await p.lock.tellApplying(env.name, false);
  current.finishedAt = now();
  const deployed = current.reapplied ? `${env.name} deployed (${current.reapplied})` : `${env.name} deployed`;
  p.status.setStatus(current, 'succeeded', deployed);
  await CancellationScope.nonCancellable(() => p.announcer.outcome(current, env, 'deployed'));
  return 'succeeded';
}

/**
 * A failure, approval timeout or cancel: the environment's effects are undone and, when it touched
 * anything (`touched`), the outcome announced.
 */
export async function fail(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  error: unknown,
  undo: Undo,
  touched: () => boolean,
): Promise<Outcome> {
  const cancelled = isCancellation(error);
  current.error = cancelled ? 'cancelled' : failureMessage(error);
  current.finishedAt = now();
  const { setStatus } = p.status;
  setStatus(current, 'failed', `${env.name} ${cancelled ? 'cancelled' : `failed: ${current.error}`}`);
  await CancellationScope.nonCancellable(async () => {
    await undo(current.error ?? 'failed');
    if (current.revertCommit && current.status !== 'compensation-failed')
      setStatus(current, 'reverted', `${env.name} reverted after: ${current.error}`);
    if (touched()) await p.announcer.outcome(current, env, cancelled ? 'cancelled' : 'failed', current.error);
  });
  return cancelled ? 'cancelled' : 'failed';
}

/** Ends the hold: stops re-asserting, then releases the environment if it was asked for. */
export async function release(p: PromotionRun, env: EnvironmentConfig, progress: Progress, landing?: number) {
  progress.holding?.cancel();
  if (progress.requested) await CancellationScope.nonCancellable(() => p.lock.release(env.name, landing));
}
