import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, BumpResult } from '../activities/index.js';
import type { EnvironmentConfig, PromoteConfig } from '../config/schema.js';
import { FailureType } from '../common/failures.js';
import { targetEnvironments } from '../common/request.js';
import { PromoteEnv, PromoteState } from '../common/search-attributes.js';
import type {
  Decision,
  DecisionInput,
  EnvironmentState,
  EnvironmentStatus,
  PromotionRequest,
  PromotionState,
  PromotionStatus,
  TagValue,
} from '../common/types.js';
import { decideSignal, decideUpdate, statusQuery } from './definitions.js';
import { TIMEOUTS } from './timeouts.js';

const { loadPromotion, bumpValues } = proxyActivities<Activities>(TIMEOUTS.git);
const { deploy } = proxyActivities<Activities>(TIMEOUTS.deploy);
const { announce } = proxyActivities<Activities>(TIMEOUTS.notify);

/** One app's tag as a string, several as an object keyed by app (the status contract). */
function tagValue(tags: Record<string, string>): TagValue {
  const entries = Object.entries(tags);
  return entries.length === 1 && entries[0] ? entries[0][1] : tags;
}

function failureMessage(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Bad input found by an activity fails the promotion as such, with the activity's own type and message. */
function asBadInput(error: unknown): ApplicationFailure | undefined {
  if (
    error instanceof ActivityFailure &&
    error.cause instanceof ApplicationFailure &&
    error.cause.nonRetryable
  ) {
    return ApplicationFailure.create({
      message: error.cause.message,
      type: error.cause.type ?? FailureType.InvalidRequest,
      nonRetryable: true,
    });
  }
  return undefined;
}

/**
 * A promotion: moves the requested `app=tag` pairs through the configured environments in order.
 * Per environment: bump commit → diff → approval → apply → announce. Stops at the first failure or rejection.
 */
export async function promote(request: PromotionRequest): Promise<PromotionState> {
  const info = workflowInfo();
  const state: PromotionState = {
    id: info.workflowId,
    status: 'running',
    repo: request.repo,
    apps: request.apps,
    requestedBy: request.requestedBy,
    environments: [],
    startedAt: new Date(info.startTime).toISOString(),
  };

  const envState = (name: string) => state.environments.find((e) => e.name === name);

  function decisionProblem(input: DecisionInput): string | undefined {
    const env = envState(input.env);
    if (!env) {
      return `unknown environment "${input.env}": this promotion covers ${state.environments.map((e) => e.name).join(', ') || 'no environment yet'}`;
    }
    if (env.decision) {
      return `${env.name} was already ${env.decision.approved ? 'approved' : 'rejected'} by ${env.decision.by}`;
    }
    if (env.status !== 'waiting-approval')
      return `${env.name} is not waiting for approval (it is ${env.status})`;
    if (env.approvers && !env.approvers.includes(input.by)) {
      return `${input.by} may not decide for ${env.name}: its approvers are ${env.approvers.join(', ')}`;
    }
    if (!input.approved && !input.comment?.trim()) return 'a rejection needs a reason';
    return undefined;
  }

  function recordDecision(input: DecisionInput): Decision {
    const decision: Decision = {
      approved: input.approved,
      by: input.by,
      at: new Date().toISOString(),
      ...(input.comment ? { comment: input.comment } : {}),
    };
    const env = envState(input.env);
    if (env) env.decision = decision;
    return decision;
  }

  setHandler(statusQuery, () => state);
  setHandler(
    decideUpdate,
    (input) => {
      // Re-checked here too: another decision may have been accepted since this one was validated.
      const problem = decisionProblem(input);
      if (problem)
        throw ApplicationFailure.create({ message: problem, type: 'InvalidDecision', nonRetryable: true });
      return recordDecision(input);
    },
    {
      validator: (input: DecisionInput) => {
        const problem = decisionProblem(input);
        if (problem) throw new Error(problem);
      },
    },
  );
  setHandler(decideSignal, (input) => {
    const problem = decisionProblem(input);
    if (problem) log.warn('ignored decision signal', { problem, env: input.env, by: input.by });
    else recordDecision(input);
  });

  function setStatus(env: EnvironmentState, status: EnvironmentStatus, details?: string): void {
    env.status = status;
    if (status === 'waiting-approval') state.status = 'waiting-approval';
    else if (state.status === 'waiting-approval') state.status = 'running';
    setCurrentDetails(details ?? `${env.name}: ${status}`);
    upsertSearchAttributes([
      { key: PromoteEnv, value: env.name },
      { key: PromoteState, value: state.status },
    ]);
  }

  let config: PromoteConfig;
  try {
    const loaded = await loadPromotion(request);
    config = loaded.config;
    state.configCommit = loaded.commit;
    state.environments = targetEnvironments(request, config).map((env) => ({
      name: env.name,
      status: 'pending',
      approval: env.approval,
      ...(env.approvers ? { approvers: env.approvers } : {}),
      tag: tagValue(Object.fromEntries(request.apps.map((a) => [a.app, a.tag]))),
      previousTag: tagValue(loaded.currentTags[env.name] ?? {}),
    }));
  } catch (error) {
    throw asBadInput(error) ?? error;
  }

  async function runEnvironment(env: EnvironmentConfig, current: EnvironmentState): Promise<void> {
    current.startedAt = new Date().toISOString();
    setStatus(current, 'bumping', `committing tags to ${env.valuesFile} for ${env.name}`);
    const bump: BumpResult = await bumpValues({
      promotionId: state.id,
      repo: request.repo,
      branch: config.branch,
      env: env.name,
      valuesFile: env.valuesFile,
      sinceCommit: state.configCommit ?? '',
      edits: request.apps.map(({ app, tag, source }) => {
        const appConfig = config.apps[app];
        return {
          app,
          tag,
          tagPath: appConfig?.tagPath ?? '',
          ...(appConfig?.revisionPath && source
            ? { revisionPath: appConfig.revisionPath, revision: source.ref }
            : {}),
        };
      }),
      sources: request.apps.flatMap(({ app, source }) =>
        source ? [`${app}: ${source.repo}@${source.ref}`] : [],
      ),
    });
    current.commit = bump.commit;
    current.previousTag = tagValue(bump.previousTags);
    if (!bump.changed) {
      current.finishedAt = new Date().toISOString();
      setStatus(current, 'skipped', `${env.name} already runs the requested tags`);
      return;
    }

    const deployInput = {
      repo: request.repo,
      branch: config.branch,
      commit: bump.commit,
      env: env.name,
      promotionId: state.id,
      deploy: config.deploy,
    };
    setStatus(current, 'diffing', `diffing ${env.name} at ${bump.commit.slice(0, 12)}`);
    current.diff = (await deploy({ ...deployInput, action: 'diff' })).output;

    if (env.approval === 'manual') {
      const who = env.approvers ? env.approvers.join(', ') : 'anyone';
      setStatus(current, 'waiting-approval', `waiting for approval in ${env.name}: ${who}`);
      await condition(() => current.decision !== undefined);
      if (!current.decision?.approved) {
        current.finishedAt = new Date().toISOString();
        setStatus(current, 'rejected', `${env.name} rejected by ${current.decision?.by}`);
        current.error = `rejected by ${current.decision?.by}: ${current.decision?.comment ?? ''}`;
        await announceOutcome(current, 'rejected', current.decision?.comment);
        return;
      }
    }

    setStatus(current, 'applying', `applying ${env.name} at ${bump.commit.slice(0, 12)}`);
    current.applyOutput = (await deploy({ ...deployInput, action: 'apply' })).output;
    current.finishedAt = new Date().toISOString();
    setStatus(current, 'succeeded', `${env.name} deployed`);
    await announceOutcome(current, 'deployed');
  }

  async function announceOutcome(
    current: EnvironmentState,
    outcome: 'deployed' | 'failed' | 'rejected',
    detail?: string,
  ): Promise<void> {
    const previous = current.previousTag;
    await announce({
      promotionId: state.id,
      env: current.name,
      outcome,
      apps: request.apps.map(({ app, tag }) => ({
        app,
        tag,
        ...(typeof previous === 'string'
          ? { previousTag: previous }
          : previous?.[app]
            ? { previousTag: previous[app] }
            : {}),
      })),
      ...(current.commit ? { commit: current.commit } : {}),
      ...(detail ? { detail } : {}),
    });
  }

  let finalStatus: PromotionStatus = 'succeeded';
  for (const env of targetEnvironments(request, config)) {
    const current = envState(env.name);
    if (!current) continue;
    try {
      await runEnvironment(env, current);
    } catch (error) {
      if (isCancellation(error)) {
        current.error = 'cancelled';
        setStatus(current, 'failed', `${env.name}: cancelled`);
        finalStatus = 'cancelled';
      } else {
        current.error = failureMessage(error);
        current.finishedAt = new Date().toISOString();
        setStatus(current, 'failed', `${env.name} failed: ${current.error}`);
        finalStatus = 'failed';
        await announceOutcome(current, 'failed', current.error);
      }
      break;
    }
    if (current.status === 'rejected') {
      finalStatus = 'rejected';
      break;
    }
  }

  state.status = finalStatus;
  state.finishedAt = new Date().toISOString();
  upsertSearchAttributes([{ key: PromoteState, value: finalStatus }]);
  setCurrentDetails(`promotion ${finalStatus}`);
  if (finalStatus === 'succeeded') return state;

  const failed = state.environments.find((e) => e.error);
  state.error = failed ? `${failed.name}: ${failed.error}` : finalStatus;
  const type = {
    failed: FailureType.PromotionFailed,
    rejected: FailureType.PromotionRejected,
    cancelled: FailureType.PromotionCancelled,
  }[finalStatus];
  // Failing the workflow makes the outcome obvious in the Web UI; the state rides along for the CLI.
  throw ApplicationFailure.create({ message: state.error, type, nonRetryable: true, details: [state] });
}
