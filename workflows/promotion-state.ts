import {
  ApplicationFailure,
  condition,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeployResult } from '../activities/index.js';
import type { PromoteConfig } from '../config/schema.js';
import { PromoteEnv, PromoteState } from '../common/search-attributes.js';
import type {
  AbandonInput,
  DecisionInput,
  EnvironmentState,
  EnvironmentStatus,
  PromotionRequest,
  PromotionState,
  PromotionStatus,
} from '../common/types.js';
import { decisionInputProblem } from './decision-input.js';
import {
  abandonProblem,
  decisionProblem,
  policiesApply,
  recordDecision,
  recordSigned,
  type Gathered,
} from './decisions.js';
import {
  abandonUpdate,
  acceptedUpdate,
  decideSignal,
  decideUpdate,
  heldEnvironmentsQuery,
  lockGrantedSignal,
  statusQuery,
  supersededSignal,
} from '../common/definitions.js';
import type { EnvironmentLock } from './lock-client.js';
import { promotionMetrics } from './metrics.js';
import { now, tagValue } from './values.js';

/**
 * The promotion's state, the one place it changes status, and every handler that reads or changes it
 * from outside (status query, decide Update and signal, abandon, accepted, the lock's notices).
 */

export function newPromotionState(request: PromotionRequest): PromotionState {
  const info = workflowInfo();
  return {
    id: info.workflowId,
    kind: request.rollback ? 'rollback' : 'promotion',
    status: 'running',
    repo: request.repo,
    apps: request.apps,
    ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
    ...(request.ciActor ? { ciActor: request.ciActor } : {}),
    environments: [],
    startedAt: new Date(info.startTime).toISOString(),
  };
}

/** Writes an environment's progress: status, search attributes, metrics and what the deployer saw. */
export interface StatusWriter {
  setStatus: (env: EnvironmentState, status: EnvironmentStatus, details: string) => void;
  /** helm/helmfile report what they observed on the cluster; command deployers report nothing. */
  recordObserved: (current: EnvironmentState, result: DeployResult, step: 'diff' | 'apply') => void;
  /** Counts the promotion's outcome. */
  finished: (status: PromotionStatus) => void;
}

export function statusWriter(state: PromotionState): StatusWriter {
  const metrics = promotionMetrics();
  return {
    setStatus(env, status, details) {
      metrics.step(env.name, status, env.startedAt);
      env.status = status;
      if (status === 'waiting-approval') state.status = 'waiting-approval';
      else if (state.status === 'waiting-approval') state.status = 'running';
      setCurrentDetails(details);
      upsertSearchAttributes([
        { key: PromoteEnv, value: env.name },
        { key: PromoteState, value: state.status },
      ]);
    },
    recordObserved(current, result, step) {
      const report = result.report;
      if (!report || !patched('helm-deploy-report')) return;
      if (report.releases.length > 0) current.releases = report.releases;
      const tags = report.tags && Object.keys(report.tags).length > 0 ? tagValue(report.tags) : undefined;
      if (step === 'diff') {
        if (tags) current.observedPreviousTag = tags;
        if (report.drift) current.drift = report.drift;
      } else {
        if (tags) current.observedTag = tags;
        if (report.repaired) current.repaired = report.repaired;
      }
    },
    finished: (status) => metrics.promotion(status),
  };
}

export interface Handled {
  state: PromotionState;
  lock: EnvironmentLock;
  /** promote.yaml once loaded (signed decisions verify against its allowed_signers). */
  config: () => PromoteConfig | undefined;
  /** An approval short of the quorum was recorded (the announcer updates the request in place). */
  gathered: Gathered;
}

/** Installs every handler, in the order recorded runs installed them (before the first command). */
export function installHandlers({ state, lock, config, gathered }: Handled): void {
  setHandler(statusQuery, () => state);
  // Guarded runs only ever set `compensation`: for older runs the validator refuses every abandon.
  setHandler(abandonUpdate, (input) => abandon(state, input), {
    validator: (input: AbandonInput) => {
      const problem = abandonProblem(state, input);
      if (problem) throw new Error(problem);
    },
  });
  // Issues no commands. A run that fails on bad input first leaves it unanswered; the client then polls.
  setHandler(acceptedUpdate, async () => {
    await condition(() => state.configCommit !== undefined);
    return state;
  });
  setHandler(
    decideUpdate,
    (input) => {
      // Re-checked here too: another decision may have been accepted since this one was validated.
      const problem = decisionProblem(state, input, false, policiesApply);
      if (problem)
        throw ApplicationFailure.create({ message: problem, type: 'InvalidDecision', nonRetryable: true });
      // Only a signed decision runs an activity; every other one stays synchronous, as recorded before.
      if (input.signed && patched('signed-approvals'))
        return recordSigned(state, config(), { ...input, signed: input.signed }, gathered);
      return recordDecision(state, input, {}, gathered);
    },
    {
      // Validators are not part of history: every check may change freely here.
      validator: (input: DecisionInput) => {
        const problem = decisionInputProblem(input) ?? decisionProblem(state, input, true);
        if (problem) throw new Error(problem);
      },
    },
  );
  setHandler(decideSignal, (input: unknown) => decideBySignal(state, input, gathered));
  setHandler(heldEnvironmentsQuery, () => lock.held());
  setHandler(lockGrantedSignal, (grant) => lock.onGranted(grant));
  setHandler(supersededSignal, (notice) => lock.onSuperseded(notice));
}

/** `promote abandon`: answers once the environment is released, with what is left for a person. */
async function abandon(state: PromotionState, input: AbandonInput): Promise<EnvironmentState> {
  const problem = abandonProblem(state, input);
  if (problem)
    throw ApplicationFailure.create({ message: problem, type: 'InvalidAbandon', nonRetryable: true });
  const env = state.environments.find((e) => e.name === input.env) as EnvironmentState;
  const compensation = env.compensation;
  if (compensation) compensation.abandoned = { by: input.by.trim(), reason: input.reason.trim(), at: now() };
  await condition(() => env.compensation?.endedAt !== undefined || env.compensation === undefined);
  return env;
}

/**
 * A signal cannot be refused, only ignored: a bad one is logged, never thrown (a throw here fails the
 * workflow task on every replay and wedges the promotion). Histories that took such a payload before
 * these checks existed replay as they ran: `patched` is only asked when a check would bite.
 */
function decideBySignal(state: PromotionState, input: unknown, gathered: Gathered): void {
  const malformed = decisionInputProblem(input);
  if (malformed && patched('decision-input-checks')) {
    log.warn('ignored decision signal', { problem: malformed });
    return;
  }
  const decision = input as DecisionInput;
  // A signal cannot wait for a signature to be verified: signed environments decide by Update only.
  if (decision.signed || state.environments.find((e) => e.name === decision.env)?.signedApprovals) {
    log.warn('ignored decision signal', {
      problem: 'signed approvals are sent as an Update',
      env: decision.env,
    });
    return;
  }
  let problem = decisionProblem(state, decision, false, policiesApply);
  if (!problem) {
    const unnamed = decisionProblem(state, decision, true, policiesApply);
    if (unnamed && patched('decision-input-checks')) problem = unnamed;
  }
  if (problem) log.warn('ignored decision signal', { problem, env: decision.env, by: decision.by });
  else recordDecision(state, decision, {}, gathered);
}
