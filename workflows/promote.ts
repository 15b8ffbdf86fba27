import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, LoadedPromotion } from '../activities/index.js';
import type { PromoteConfig } from '../config/schema.js';
import { FailureType } from '../common/failures.js';
import { targetEnvironments } from '../common/request.js';
import { approvalPolicy } from '../common/approval-policy.js';
import { memoProblem } from '../common/promotion-memo.js';
import { PromoteApps, PromoteState } from '../common/search-attributes.js';
import type { EnvironmentState, PromotionRequest, PromotionState, PromotionStatus } from '../common/types.js';
import { Announcer } from './announcer.js';
import { createCompensation } from './compensate.js';
import { runHeld } from './held.js';
import { EnvironmentLock } from './lock-client.js';
import { installHandlers, newPromotionState, statusWriter, type StatusWriter } from './promotion-state.js';
import { runProposal } from './propose.js';
import { governPromotion } from './governance-rules.js';
import { decisionProblem, policiesApply, recordDecision } from './decisions.js';
import { reviewApprovals } from './review-approvals.js';
import { sagaCommitSearch, sagaOf, type Saga } from './saga.js';
import type { Outcome, PromotionRun } from './steps.js';
import { asBadInput, failureMessage, now, tagOf, tagValue } from './values.js';
import { LOCAL_READS_PATCH, LOCAL_TIMEOUTS, TIMEOUTS } from './timeouts.js';

const { loadPromotion } = proxyActivities<Activities>(TIMEOUTS.git);
const local = proxyLocalActivities<Activities>(LOCAL_TIMEOUTS.git);

/**
 * promote.yaml and the tags at the branch head. A read that changes nothing: from `local-reads` on it
 * runs inside this workflow task, tried twice there; a repository still unreachable is then retried as
 * an ordinary activity, whose attempts and last failure status and the Web UI show (a local activity's
 * are invisible until it ends). Bad input is not retried either way.
 */
async function readPromotion(request: PromotionRequest): Promise<LoadedPromotion> {
  if (!patched(LOCAL_READS_PATCH)) return loadPromotion(request);
  try {
    return await local.loadPromotion(request);
  } catch (error) {
    // A local activity's failure may arrive unwrapped (its marker holds the ApplicationFailure itself).
    const failure = error instanceof ActivityFailure ? error.cause : error;
    if (isCancellation(error) || (failure instanceof ApplicationFailure && failure.nonRetryable)) throw error;
    return loadPromotion(request);
  }
}

const PROMOTION_STATUS: Record<Exclude<Outcome, 'succeeded' | 'skipped'>, PromotionStatus> = {
  rejected: 'rejected',
  superseded: 'cancelled',
  failed: 'failed',
  cancelled: 'cancelled',
  blocked: 'blocked',
};

/**
 * A promotion: moves the requested `app=tag` pairs through the configured environments in order.
 * Per environment: lock → bump commit → diff → approval → apply → announce → unlock (held.ts), or for
 * a manual environment that proposes: propose → diff → approval → lock → land → apply (propose.ts). A
 * failure, rejection, approval timeout, supersede or cancel after the bump reverts it (and rolls the
 * deployment back if apply had started); environments that already succeeded stay as they are.
 */
export async function promote(request: PromotionRequest): Promise<PromotionState> {
  const saga = sagaOf(request.repo);
  const state = newPromotionState(request);
  const status = statusWriter(state);
  const lock = new EnvironmentLock(state.id, request.repo, saga);
  // Signed decisions verify against promote.yaml's allowed_signers: there once it is loaded.
  const loaded: { config?: PromoteConfig; announcer?: Announcer } = {};
  const gathered = (env: EnvironmentState) => loaded.announcer?.approvals(env);
  installHandlers({ state, lock, config: () => loaded.config, gathered });
  // Pull request reviews as approvals: verified by reading GitHub, with every other decision's checks.
  const reviews = reviewApprovals({
    state,
    config: () => loaded.config,
    decisionProblem: (input) => decisionProblem(state, input, false, policiesApply),
    record: (input, proof) => recordDecision(state, input, proof, gathered),
  });

  const p: PromotionRun = {
    ...(await load(request, { state, saga, lock, status })),
    watchReviews: reviews.watch,
  };
  loaded.config = p.config;
  loaded.announcer = p.announcer;
  await p.announcer.promotion(targetEnvironments(request, p.config));

  let finalStatus: PromotionStatus = 'succeeded';
  for (const env of targetEnvironments(request, p.config)) {
    const current = state.environments.find((e) => e.name === env.name);
    if (!current) continue;
    // Manual environments propose their bump on a branch and wait for approval without the lock.
    const proposes =
      saga.runScoped && env.approval === 'manual' && env.proposals !== false && patched('proposals');
    // Release governance: a blocked tag or a closed environment holds it before it starts; a soak after.
    let outcome =
      (await p.governance.beforeEnvironment(current)) ??
      (proposes ? await runProposal(p, env, current) : await runHeld(p, env, current));
    if (outcome === 'succeeded') outcome = (await p.governance.soakAfter(current)) ?? outcome;
    if (outcome !== 'succeeded' && outcome !== 'skipped') {
      finalStatus = PROMOTION_STATUS[outcome];
      break;
    }
  }
  return finish(p, finalStatus);
}

/** Loads promote.yaml and the current tags at the deployment branch head, and lays out the environments. */
async function load(
  request: PromotionRequest,
  run: { state: PromotionState; saga: Saga; lock: EnvironmentLock; status: StatusWriter },
): Promise<PromotionRun> {
  const { state } = run;
  let loaded: LoadedPromotion;
  // Scans of running promotions trust the memo's repository (common/promotion-memo.ts): one that lies
  // never starts its work. A promotion started before the memo has none, and nothing changes for it.
  const memoRefused = memoProblem(workflowInfo().memo, request.repo);
  if (memoRefused)
    throw ApplicationFailure.create({
      message: memoRefused,
      type: FailureType.InvalidRequest,
      nonRetryable: true,
    });
  try {
    loaded = await readPromotion(request);
    state.apps = loaded.apps;
    state.configCommit = loaded.commit;
    state.environments = environmentsOf(request, loaded);
    const { apps } = loaded;
    upsertSearchAttributes([
      { key: PromoteApps, value: [...apps.map((a) => a.app), ...apps.map((a) => `${a.app}=${a.tag}`)] },
    ]);
  } catch (error) {
    throw asBadInput(error) ?? error;
  }
  const { config, apps } = loaded;
  const announcer = new Announcer(state, apps, config);
  const governance = governPromotion(state, config, run.status.setStatus, (current, event, detail) =>
    announcer.governance(current, event, detail),
  );
  const compensation = createCompensation({
    state,
    request,
    config,
    apps,
    ...sagaCommitSearch(run.saga, state.configCommit),
    tagOf,
    failureMessage,
    setStatus: run.status.setStatus,
    announcer,
  });
  return { ...run, request, config, apps, announcer, compensation, governance };
}

/** Each target environment as the status shows it before it starts. */
function environmentsOf(request: PromotionRequest, loaded: LoadedPromotion): EnvironmentState[] {
  const { config, apps } = loaded;
  return targetEnvironments(request, config).map((env) => ({
    name: env.name,
    status: 'pending',
    approval: env.approval,
    ...approvalPolicy(env, config),
    ...(env.signedApprovals ? { signedApprovals: env.signedApprovals } : {}),
    tag: tagValue(Object.fromEntries(apps.map((a) => [a.app, a.tag]))),
    previousTag: tagValue(loaded.currentTags[env.name] ?? {}),
  }));
}

/** Records the outcome and announces it; a promotion that did not succeed fails the workflow. */
async function finish(p: PromotionRun, finalStatus: PromotionStatus): Promise<PromotionState> {
  const { state } = p;
  state.status = finalStatus;
  state.finishedAt = now();
  p.status.finished(finalStatus);
  upsertSearchAttributes([{ key: PromoteState, value: finalStatus }]);
  setCurrentDetails(`promotion ${finalStatus}`);
  await CancellationScope.nonCancellable(() =>
    p.announcer.promotion(targetEnvironments(p.request, p.config)),
  );
  if (finalStatus === 'succeeded') return state;

  const stopped = state.environments.find((e) => e.error || e.supersededBy);
  state.error = stopped
    ? `${stopped.name}: ${stopped.error ?? `superseded by ${stopped.supersededBy}`}`
    : finalStatus;
  const type = {
    failed: FailureType.PromotionFailed,
    rejected: FailureType.PromotionRejected,
    cancelled: FailureType.PromotionCancelled,
    blocked: FailureType.PromotionBlocked,
    running: FailureType.PromotionFailed,
    'waiting-approval': FailureType.PromotionFailed,
    'waiting-window': FailureType.PromotionFailed,
    soaking: FailureType.PromotionFailed,
  }[finalStatus];
  // Failing the workflow makes the outcome obvious in the Web UI; the state rides along for the CLI.
  throw ApplicationFailure.create({ message: state.error, type, nonRetryable: true, details: [state] });
}
