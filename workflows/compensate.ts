import {
  CancellationScope,
  condition,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  sleep,
} from '@temporalio/workflow';
import type { Activities, BumpResult } from '../activities/index.js';
import type { EnvironmentConfig, PromoteConfig } from '../config/schema.js';
import type {
  AppRequest,
  EnvironmentState,
  EnvironmentStatus,
  PromotionRequest,
  PromotionState,
  TagValue,
} from '../common/types.js';
import type { Announcer } from './announcer.js';
import { TIMEOUTS } from './timeouts.js';

const { revertBump } = proxyActivities<Activities>(TIMEOUTS.git);
const compensationGit = proxyActivities<Activities>(TIMEOUTS.compensation);
const { deploy } = proxyActivities<Activities>(TIMEOUTS.deploy);
const within = proxyActivities<Activities>(TIMEOUTS.compensationWithin);

const now = () => new Date().toISOString();
const short = (commit: string | undefined) => commit?.slice(0, 12) ?? '(commit unknown)';

export interface CompensationContext {
  state: PromotionState;
  request: PromotionRequest;
  config: PromoteConfig;
  apps: AppRequest[];
  run?: string;
  /** Where the search for the saga's commits may start (its first execution's config commit). */
  runSince?: string;
  tagOf: (value: TagValue | undefined, app: string) => string | undefined;
  failureMessage: (error: unknown) => string;
  /** Guarded runs: a compensation that gave up ends the environment `compensation-failed`, announced. */
  setStatus?: (env: EnvironmentState, status: EnvironmentStatus, details: string) => void;
  announcer?: Announcer;
}

/**
 * One compensation step, retried inside its activity within a budget. `promote abandon` cancels it
 * (between attempts); either way it resolves: a value when done, the reason when it gave up.
 */
async function attempt<T>(
  failureMessage: (error: unknown) => string,
  current: EnvironmentState,
  step: 'revert' | 'rollback',
  run: () => Promise<T>,
): Promise<{ value: T } | { gaveUp: string }> {
  const compensation = (current.compensation ??= { step, startedAt: now() });
  compensation.step = step;
  if (compensation.abandoned) return { gaveUp: 'abandoned' };
  const scope = new CancellationScope();
  void condition(() => compensation.abandoned !== undefined).then(() => scope.cancel());
  try {
    return { value: await scope.run(run) };
  } catch (error) {
    return { gaveUp: compensation.abandoned ? 'abandoned' : failureMessage(error) };
  }
}

/**
 * Gave up: the environment is released as `compensation-failed` and an alert says what a person
 * must still do, instead of holding the environment for as long as the fault lasts.
 */
async function gaveUp(
  ctx: CompensationContext,
  env: EnvironmentConfig,
  current: EnvironmentState,
  reason: string,
  why: string,
  left: string,
): Promise<void> {
  const compensation = current.compensation ?? { step: 'revert', startedAt: now() };
  const abandoned = compensation.abandoned;
  current.compensation = {
    ...compensation,
    left,
    ...(abandoned ? {} : { error: why }),
    endedAt: now(),
  };
  const cause = abandoned ? `abandoned by ${abandoned.by}: ${abandoned.reason}` : why;
  current.error = `${reason}; compensation failed: ${cause}`;
  current.finishedAt = now();
  log.error('compensation gave up; the environment is released', { env: env.name, cause, left });
  ctx.setStatus?.(
    current,
    'compensation-failed',
    `${env.name}: compensation failed; left for a person: ${left}`,
  );
  await ctx.announcer?.outcome(current, env, 'compensation-failed', left);
}

/** The deploy request that rolls an environment back to the revert commit (every compensation path). */
function rollbackInput(ctx: CompensationContext, env: EnvironmentConfig, commit: string) {
  const { state, request, config } = ctx;
  return {
    repo: request.repo,
    branch: config.branch,
    commit,
    env: env.name,
    promotionId: state.id,
    action: 'rollback' as const,
    deploy: config.deploy,
  };
}

/** This run's revert of one environment: the same request whether it is retried within a budget or not. */
function revertInput(ctx: CompensationContext, env: EnvironmentConfig, restored: string, reason: string) {
  const { state, request, config, run, runSince } = ctx;
  return {
    promotionId: state.id,
    ...(run ? { run } : {}),
    ...(runSince ? { runSince } : {}),
    repo: request.repo,
    branch: config.branch,
    env: env.name,
    sinceCommit: state.configCommit ?? '',
    valuesFile: env.valuesFile,
    subject: `revert(${env.name}): restore ${restored}`,
    reason,
  };
}

/** Guarded runs: each step retried within a budget, then released `compensation-failed`. */
async function compensateWithin(
  ctx: CompensationContext,
  env: EnvironmentConfig,
  current: EnvironmentState,
  applyStarted: boolean,
  reason: string,
  restored: string,
): Promise<void> {
  const { config } = ctx;
  setCurrentDetails(`reverting ${env.name} (retrying within its budget)`);
  const revert = await attempt(ctx.failureMessage, current, 'revert', () =>
    within.revertPromotionWithin(revertInput(ctx, env, restored, reason)),
  );
  if ('gaveUp' in revert) {
    const rollback = applyStarted ? `; then roll ${env.name} back (its apply had started)` : '';
    const left = `revert ${short(current.commit)} on ${config.branch}: restore ${restored} in ${env.valuesFile}${rollback}`;
    return gaveUp(ctx, env, current, reason, revert.gaveUp, left);
  }
  const revertCommit = revert.value.commit;
  if (revertCommit) current.revertCommit = revertCommit;
  if (revertCommit && applyStarted) {
    setCurrentDetails(
      `rolling back ${env.name} to ${revertCommit.slice(0, 12)} (retrying within its budget)`,
    );
    const rollback = await attempt(ctx.failureMessage, current, 'rollback', () =>
      within.rollBackWithin(rollbackInput(ctx, env, revertCommit)),
    );
    if ('gaveUp' in rollback) {
      const left = `deploy ${env.name} at ${short(revertCommit)} (the revert is in Git: ${restored}; the cluster may still run what this promotion applied)`;
      return gaveUp(ctx, env, current, reason, rollback.gaveUp, left);
    }
    current.rolledBack = true;
  }
  // Done: nothing left to show, unless an operator's abandon came too late to stop it.
  if (current.compensation?.abandoned) current.compensation.endedAt = now();
  else delete current.compensation;
}

/**
 * Compensation must finish before the environment is released, or the next holder would deploy a
 * change nobody approved: each step is retried until it succeeds, the attempts visible in the Web UI.
 */
async function untilDone<T>(
  failureMessage: (error: unknown) => string,
  what: string,
  step: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      const delaySeconds = Math.min(2 ** attempt, 60);
      setCurrentDetails(`${what}: ${failureMessage(error)}, attempt ${attempt}; next in ${delaySeconds}s`);
      log.warn('compensation step failed; retrying', { what, attempt, error: failureMessage(error) });
      await sleep(delaySeconds * 1000);
    }
  }
}

/** Run-scoped compensation: this run's own bump is found by its trailers, whatever the bump activity returned. */
export async function compensateRun(
  ctx: CompensationContext,
  env: EnvironmentConfig,
  current: EnvironmentState,
  applyStarted: boolean,
  reason: string,
): Promise<void> {
  const { apps, tagOf } = ctx;
  const restored = apps.map(({ app }) => `${app} ${tagOf(current.previousTag, app) ?? '?'}`).join(', ');
  // A compensation that can never succeed ends within a budget, not after holding the environment
  // for as long as the fault lasts (older runs retry until done).
  if (patched('bounded-compensation'))
    return compensateWithin(ctx, env, current, applyStarted, reason, restored);
  setCurrentDetails(`reverting ${env.name}`);
  const revert = await untilDone(ctx.failureMessage, `reverting ${env.name}`, () =>
    compensationGit.revertPromotion(revertInput(ctx, env, restored, reason)),
  );
  if (!revert.commit) return;
  current.revertCommit = revert.commit;
  if (!applyStarted) return;
  const revertCommit = revert.commit;
  setCurrentDetails(`rolling back ${env.name} to ${revertCommit.slice(0, 12)}`);
  await untilDone(ctx.failureMessage, `rolling back ${env.name}`, () =>
    deploy(rollbackInput(ctx, env, revertCommit)),
  );
  current.rolledBack = true;
}

/** Undo this promotion's effect on one environment: revert the bump, roll back a started apply. */
export async function compensate(
  ctx: CompensationContext,
  env: EnvironmentConfig,
  current: EnvironmentState,
  bump: BumpResult | undefined,
  applyStarted: boolean,
  reason: string,
): Promise<void> {
  const { state, request, config, apps, tagOf, failureMessage } = ctx;
  if (!bump?.changed) return;
  try {
    const restored = apps.map(({ app }) => `${app} ${tagOf(current.previousTag, app) ?? '?'}`).join(', ');
    const revert = await revertBump({
      promotionId: state.id,
      repo: request.repo,
      branch: config.branch,
      env: env.name,
      sinceCommit: state.configCommit ?? '',
      valuesFile: env.valuesFile,
      changes: bump.changes,
      bumpCommit: bump.commit,
      subject: `revert(${env.name}): restore ${restored}`,
      reason,
    });
    if (revert.commit) current.revertCommit = revert.commit;
    if (applyStarted && revert.commit) {
      setCurrentDetails(`rolling back ${env.name} to ${revert.commit.slice(0, 12)}`);
      await deploy(rollbackInput(ctx, env, revert.commit));
      current.rolledBack = true;
    }
  } catch (error) {
    current.error = `${current.error ?? reason}; compensation failed: ${failureMessage(error)}`;
    log.error('compensation failed', { env: env.name, error: failureMessage(error) });
  }
}

/** Undoing a promotion's effect on one environment: the revert commit, and a rollback if apply started. */
export function createCompensation(ctx: CompensationContext) {
  return {
    /** Undo this promotion's effect on one environment: revert the bump, roll back a started apply. */
    compensate: (...args: DropFirst<Parameters<typeof compensate>>) => compensate(ctx, ...args),
    /** Reverts this run's landed bump (found by its trailers) and rolls back a started apply. */
    compensateRun: (...args: DropFirst<Parameters<typeof compensateRun>>) => compensateRun(ctx, ...args),
  };
}

type DropFirst<T extends unknown[]> = T extends [unknown, ...infer Rest] ? Rest : never;

/** The two ways a promotion undoes an environment: by what the bump returned (older runs), or by this run's trailers. */
export type Compensation = ReturnType<typeof createCompensation>;
