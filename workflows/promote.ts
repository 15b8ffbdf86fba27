import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, BumpResult, DeployResult } from '../activities/index.js';
import { bumpEdits } from './bump-edits.js';
import { decisionInputProblem } from './decision-input.js';
import type { EnvironmentConfig, PromoteConfig } from '../config/schema.js';
import { DEFAULT_APPROVAL_TIMEOUT_MS } from '../common/constants.js';
import { DEFAULT_ALLOWED_SIGNERS, parseStatement, statementMismatch } from '../common/approval-statement.js';
import { FailureType } from '../common/failures.js';
import { environmentLockId, legacyRepositoryKey, repositoryKey } from '../common/ids.js';
import { targetEnvironments } from '../common/request.js';
import {
  approvalPolicy,
  approvedBy,
  quorumOf,
  quorumText,
  selfApprovalProblem,
} from '../common/approval-policy.js';
import { PromoteApps, PromoteEnv, PromoteState } from '../common/search-attributes.js';
import type {
  AbandonInput,
  AppRequest,
  Decision,
  DecisionInput,
  EnvironmentState,
  EnvironmentStatus,
  PromotionRequest,
  PromotionState,
  PromotionStatus,
  TagValue,
} from '../common/types.js';
import {
  abandonUpdate,
  acceptedUpdate,
  decideSignal,
  decideUpdate,
  heldEnvironmentsQuery,
  lockApplyingSignal,
  lockGrantedSignal,
  lockReleaseSignal,
  statusQuery,
  supersededSignal,
} from './definitions.js';
import { Announcer } from './announcer.js';
import { createCompensation } from './compensate.js';
import { runProposal } from './propose.js';
import { reviewApprovals } from './review-approvals.js';
import { lockTimedOut, reassertBackoff } from './acquire.js';
import { promotionMetrics } from './metrics.js';
import { TIMEOUTS } from './timeouts.js';

const { loadPromotion, bumpValues } = proxyActivities<Activities>(TIMEOUTS.git);
const stepGit = proxyActivities<Activities>(TIMEOUTS.gitStep);
const { deploy, deployedState } = proxyActivities<Activities>(TIMEOUTS.deploy);
const { requestEnvironment } = proxyActivities<Activities>(TIMEOUTS.lookup);
const { verifyApprovalSignature } = proxyActivities<Activities>(TIMEOUTS.git);

/** Slack clicks remembered per promotion to refuse replays: bounded, the oldest forgotten first. */
const MAX_SEEN_ACTIONS = 500;

/** How one environment ended; anything but succeeded or skipped stops the promotion. */
type Outcome = 'succeeded' | 'skipped' | 'rejected' | 'superseded' | 'failed' | 'cancelled';

const PROMOTION_STATUS: Record<Exclude<Outcome, 'succeeded' | 'skipped'>, PromotionStatus> = {
  rejected: 'rejected',
  superseded: 'cancelled',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** One app's tag as a string, several as an object keyed by app (the status contract). */
function tagValue(tags: Record<string, string>): TagValue {
  const entries = Object.entries(tags);
  return entries.length === 1 && entries[0] ? entries[0][1] : tags;
}

function tagOf(value: TagValue | undefined, app: string): string | undefined {
  return typeof value === 'string' ? value : value?.[app];
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

const now = () => new Date().toISOString();

/** How often a queued promotion asks its environment's lock again, so a lost lock is rebuilt. */
const DEFAULT_LOCK_REASSERT_MS = 5 * 60_000;

/**
 * A promotion: moves the requested `app=tag` pairs through the configured environments in order.
 * Per environment: lock → bump commit → diff → approval → apply → announce → unlock. A failure,
 * rejection, approval timeout, supersede or cancel after the bump reverts it (and rolls the
 * deployment back if apply had started); environments that already succeeded stay as they are.
 */
export async function promote(request: PromotionRequest): Promise<PromotionState> {
  const info = workflowInfo();
  /**
   * Runs started from here on identify their run in lock requests and commit trailers, find their own
   * commits by trailers when compensating, retry compensation until it is done, tell the lock when they
   * apply, and share one lock per repository however its URL is spelled.
   */
  const runScoped = patched('run-scoped-saga');
  /**
   * Runs started from here on name their saga by the first execution's run id, which a `temporal
   * workflow reset` keeps (the reset run gets a new run id): the lock keeps taking its notices, its
   * liveness check still finds it, and its commit trailers stay its own. `execution` tells the lock which
   * execution asks, so a reset run may ask anew for an environment its saga already released.
   */
  const sagaSurvivesReset = runScoped && patched('reset-keeps-saga');
  const run = runScoped ? (sagaSurvivesReset ? info.firstExecutionRunId : info.runId) : undefined;
  const execution = sagaSurvivesReset ? info.runId : undefined;
  /** A grant or supersede for another saga of this workflow id (a re-run after this one ends) is not ours. */
  const forOtherSaga = (to: { run?: string }) => sagaSurvivesReset && to.run !== undefined && to.run !== run;
  /**
   * Each environment's lock id, fixed when the lock is first requested: the release and apply notices
   * go to the lock this run queued on, even if a newer worker would compute the id differently.
   */
  const lockIds = new Map<string, string>();
  const lockIdOf = (env: string) =>
    lockIds.get(env) ??
    (runScoped
      ? environmentLockId(legacyRepositoryKey(request.repo), env)
      : environmentLockId(request.repo, env));
  /**
   * The lock id for a request. Runs from the `lock-id-in-state` patch on use the key that folds the
   * `github:` spec and GitHub's case into one repository, and keep it; older runs keep theirs.
   */
  const requestLockId = (env: string): string => {
    if (runScoped && !lockIds.has(env) && patched('lock-id-in-state'))
      lockIds.set(env, environmentLockId(repositoryKey(request.repo), env));
    return lockIdOf(env);
  };
  const state: PromotionState = {
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
  const metrics = promotionMetrics();
  const granted = new Set<string>();
  const supersededBy = new Map<string, string>();

  const envState = (name: string) => state.environments.find((e) => e.name === name);

  /**
   * `requireCommit`: an approval of an environment that proposes must name the proposal commit it
   * approves, so nobody approves a proposal they were not shown (the CLI and Slack always send it).
   */
  /** Workflow handlers apply approval policies from the patch on; the update validator always does. */
  const policiesApply = () => patched('approval-policies');

  function decisionProblem(
    input: DecisionInput,
    requireCommit = false,
    policies: () => boolean = () => true,
  ): string | undefined {
    const env = envState(input.env);
    if (!env) {
      return `unknown environment "${input.env}": this promotion covers ${state.environments.map((e) => e.name).join(', ') || 'no environment yet'}`;
    }
    if (env.decision) {
      return `${env.name} was already ${env.decision.approved ? 'approved' : 'rejected'} by ${env.decision.by}`;
    }
    if (env.status !== 'waiting-approval')
      return `${env.name} is not waiting for approval (it is ${env.status})`;
    // A decision names what it decides: the full commit, or an unambiguous prefix of it.
    if (input.commit && !(input.commit.length >= 7 && env.commit?.startsWith(input.commit))) {
      const rebuilt = env.proposal?.reason ? ` (the proposal was rebuilt: ${env.proposal.reason})` : '';
      return `this approval request is stale: it names ${input.commit.slice(0, 12)}, but ${env.name} now proposes ${env.commit?.slice(0, 12) ?? 'nothing'}${rebuilt}; review the new diff and decide again`;
    }
    if (requireCommit && input.approved && env.proposal && !input.commit) {
      return `an approval of ${env.name} must name the proposal commit it approves (${env.commit?.slice(0, 12) ?? 'not made yet'}): see \`promote status\``;
    }
    // A signed decision's approver is its verified principal, checked once the signature is.
    if (!input.signed && env.approvers && !env.approvers.includes(input.by)) {
      return `${input.by} may not decide for ${env.name}: its approvers are ${env.approvers.join(', ')}`;
    }
    if (!input.approved && !input.comment?.trim()) return 'a rejection needs a reason';
    if (input.actionId && state.seenActions?.includes(actionKey(input.actionId, input.commit)))
      return 'this Slack action was already used (a replayed request); nothing was changed';
    // Approval policies: `policies` is asked only when a check would bite, so histories recorded
    // before them (where such an approval was taken) replay as they ran.
    if (input.approved) {
      const self = selfApprovalProblem(env, state, input.by);
      if (self && policies()) return self;
      if (approvedBy(env).includes(input.by) && policies()) {
        return `${input.by} already approved ${env.name}: it needs ${quorumOf(env)} approvals from distinct people (${quorumText(env) ?? ''})`;
      }
    }
    return signedProblem(input, env);
  }

  const actionKey = (actionId: string, commit: string | undefined) => `${actionId}@${commit ?? ''}`;

  /** `signedApprovals: required` refuses unsigned decisions; a signed one must be about this very decision. */
  function signedProblem(input: DecisionInput, env: EnvironmentState): string | undefined {
    if (!input.signed) {
      return env.signedApprovals === 'required'
        ? `${env.name} requires signed approvals: decide with \`promote ${input.approved ? 'approve' : 'reject'} … --sign-key <ssh key>\``
        : undefined;
    }
    const statement = parseStatement(input.signed.statement);
    if (typeof statement === 'string') return statement;
    return statementMismatch(statement, {
      promotion: workflowInfo().workflowId,
      run: workflowInfo().runId,
      env: env.name,
      commit: env.commit,
      approved: input.approved,
      nowMs: Date.now(),
    });
  }

  /**
   * A signed decision counts only once its signature verifies against allowed_signers as of the
   * deployment branch commit the proposal was built on (never the proposal's own copy); the approver
   * is the key's principal, whatever name the caller sent.
   */
  async function recordSigned(
    input: DecisionInput & { signed: NonNullable<DecisionInput['signed']> },
  ): Promise<Decision> {
    const env = envState(input.env);
    const base = env?.proposal?.base ?? state.configCommit;
    const refuse = (message: string) =>
      ApplicationFailure.create({ message, type: 'InvalidDecision', nonRetryable: true });
    if (!env || !base)
      throw refuse(`${input.env} has no deployment branch commit to verify the signature against`);
    let principal: string;
    try {
      ({ principal } = await verifyApprovalSignature({
        repo: state.repo,
        branch: config.branch,
        base,
        allowedSigners: config.allowedSigners ?? DEFAULT_ALLOWED_SIGNERS,
        statement: input.signed.statement,
        signature: input.signed.signature,
      }));
    } catch (error) {
      throw refuse(`signed decision refused: ${failureMessage(error)}`);
    }
    // Re-checked: another decision may have been accepted while the signature was verified.
    const problem = decisionProblem(input);
    if (problem) throw refuse(problem);
    if (env.approvers && !env.approvers.includes(principal))
      throw refuse(
        `${principal} (the signing key's principal) may not decide for ${env.name}: its approvers are ${env.approvers.join(', ')}`,
      );
    // The policies hold for the proven approver, not the name the caller sent.
    if (input.approved) {
      const self = selfApprovalProblem(env, state, principal);
      if (self && policiesApply()) throw refuse(self);
      if (approvedBy(env).includes(principal) && policiesApply())
        throw refuse(`${principal} already approved ${env.name}: approvals must come from distinct people`);
    }
    return recordDecision(
      { ...input, by: principal },
      { via: 'ssh-signature', principal, signature: input.signed, base },
    );
  }

  /** Every decision joins the audit trail; an approval ends the wait only once the quorum is reached. */
  function recordDecision(input: DecisionInput, proof: Partial<Decision> = {}): Decision {
    const env = envState(input.env);
    const decision: Decision = {
      approved: input.approved,
      by: input.by,
      at: now(),
      ...(input.comment ? { comment: input.comment } : {}),
      via: input.via ?? 'cli-declared',
      ...(env?.commit ? { commit: env.commit } : {}),
      ...proof,
    };
    if (input.actionId) {
      const seen = [...(state.seenActions ?? []), actionKey(input.actionId, input.commit)];
      state.seenActions = seen.slice(-MAX_SEEN_ACTIONS);
    }
    if (!env) return decision;
    env.decisions = [...(env.decisions ?? []), decision];
    const gathering =
      decision.approved && approvedBy(env).length < quorumOf(env) && patched('approval-policies');
    if (gathering) {
      setCurrentDetails(`waiting for approval in ${env.name}: ${quorumText(env) ?? ''}`);
      announcer.approvals(env);
    } else env.decision = decision;
    return decision;
  }

  function abandonProblem(input: AbandonInput): string | undefined {
    const env = envState(input.env);
    if (!env) {
      return `unknown environment "${input.env}": this promotion covers ${state.environments.map((e) => e.name).join(', ') || 'no environment yet'}`;
    }
    if (!input.by?.trim()) return 'abandoning needs a name: who gives up (--as)';
    if (!input.reason?.trim()) return 'abandoning needs a reason (--reason)';
    const compensation = env.compensation;
    if (!compensation || compensation.endedAt)
      return `${env.name} is not compensating (it is ${env.status}): there is nothing to abandon`;
    if (compensation.abandoned)
      return `${env.name}'s compensation was already abandoned by ${compensation.abandoned.by}`;
    return undefined;
  }

  setHandler(statusQuery, () => state);
  // Guarded runs only ever set `compensation`: for older runs the validator refuses every abandon.
  setHandler(
    abandonUpdate,
    async (input) => {
      const problem = abandonProblem(input);
      if (problem)
        throw ApplicationFailure.create({ message: problem, type: 'InvalidAbandon', nonRetryable: true });
      const env = envState(input.env) as EnvironmentState;
      const compensation = env.compensation;
      if (compensation)
        compensation.abandoned = { by: input.by.trim(), reason: input.reason.trim(), at: now() };
      // Answers once the environment is released, with what is left for a person.
      await condition(() => env.compensation?.endedAt !== undefined || env.compensation === undefined);
      return env;
    },
    {
      validator: (input: AbandonInput) => {
        const problem = abandonProblem(input);
        if (problem) throw new Error(problem);
      },
    },
  );
  // Issues no commands. A run that fails on bad input first leaves it unanswered; the client then polls.
  setHandler(acceptedUpdate, async () => {
    await condition(() => state.configCommit !== undefined);
    return state;
  });
  setHandler(
    decideUpdate,
    (input) => {
      // Re-checked here too: another decision may have been accepted since this one was validated.
      const problem = decisionProblem(input, false, policiesApply);
      if (problem)
        throw ApplicationFailure.create({ message: problem, type: 'InvalidDecision', nonRetryable: true });
      // Only a signed decision runs an activity; every other one stays synchronous, as recorded before.
      if (input.signed && patched('signed-approvals'))
        return recordSigned({ ...input, signed: input.signed });
      return recordDecision(input);
    },
    {
      // Validators are not part of history: every check may change freely here.
      validator: (input: DecisionInput) => {
        const problem = decisionInputProblem(input) ?? decisionProblem(input, true);
        if (problem) throw new Error(problem);
      },
    },
  );
  setHandler(decideSignal, (input: unknown) => {
    // A signal cannot be refused, only ignored: a bad one is logged, never thrown (a throw here fails
    // the workflow task on every replay and wedges the promotion). Histories that took such a payload
    // before these checks existed replay as they ran: `patched` is only asked when a check would bite.
    const malformed = decisionInputProblem(input);
    if (malformed && patched('decision-input-checks')) {
      log.warn('ignored decision signal', { problem: malformed });
      return;
    }
    const decision = input as DecisionInput;
    // A signal cannot wait for a signature to be verified: signed environments decide by Update only.
    if (decision.signed || envState(decision.env)?.signedApprovals) {
      log.warn('ignored decision signal', {
        problem: 'signed approvals are sent as an Update',
        env: decision.env,
      });
      return;
    }
    let problem = decisionProblem(decision, false, policiesApply);
    if (!problem) {
      const unnamed = decisionProblem(decision, true, policiesApply);
      if (unnamed && patched('decision-input-checks')) problem = unnamed;
    }
    if (problem) log.warn('ignored decision signal', { problem, env: decision.env, by: decision.by });
    else recordDecision(decision);
  });
  // Pull request reviews as approvals: verified by reading GitHub, with every other decision's checks.
  const reviews = reviewApprovals({
    state,
    config: () => config,
    decisionProblem: (input) => decisionProblem(input, false, policiesApply),
    record: recordDecision,
  });
  /**
   * Explicit holding state for a lock rebuilt without state: an environment is held from its grant until
   * the release is sent (cleared first, so a rebuilt lock never adopts a run that already released).
   */
  const wanted = new Set<string>();
  const holds = new Set<string>();
  setHandler(heldEnvironmentsQuery, () => ({ ...(run ? { run } : {}), envs: [...holds] }));
  setHandler(lockGrantedSignal, (grant) => {
    if (forOtherSaga(grant)) {
      log.warn('ignored a grant for another run', { env: grant.env, run: grant.run });
      return;
    }
    granted.add(grant.env);
    if (wanted.has(grant.env)) holds.add(grant.env);
  });
  setHandler(supersededSignal, (notice) => {
    if (forOtherSaga(notice)) log.warn('ignored a supersede for another run', { env: notice.env });
    else supersededBy.set(notice.env, notice.by);
  });

  function setStatus(env: EnvironmentState, status: EnvironmentStatus, details: string): void {
    metrics.step(env.name, status, env.startedAt);
    env.status = status;
    if (status === 'waiting-approval') state.status = 'waiting-approval';
    else if (state.status === 'waiting-approval') state.status = 'running';
    setCurrentDetails(details);
    upsertSearchAttributes([
      { key: PromoteEnv, value: env.name },
      { key: PromoteState, value: state.status },
    ]);
  }

  let config: PromoteConfig;
  let apps: AppRequest[];
  try {
    const loaded = await loadPromotion(request);
    config = loaded.config;
    apps = loaded.apps;
    state.apps = apps;
    state.configCommit = loaded.commit;
    state.environments = targetEnvironments(request, config).map((env) => ({
      name: env.name,
      status: 'pending',
      approval: env.approval,
      ...approvalPolicy(env, config),
      ...(env.signedApprovals ? { signedApprovals: env.signedApprovals } : {}),
      tag: tagValue(Object.fromEntries(apps.map((a) => [a.app, a.tag]))),
      previousTag: tagValue(loaded.currentTags[env.name] ?? {}),
    }));
    upsertSearchAttributes([
      { key: PromoteApps, value: [...apps.map((a) => a.app), ...apps.map((a) => `${a.app}=${a.tag}`)] },
    ]);
  } catch (error) {
    throw asBadInput(error) ?? error;
  }
  const appNames = apps.map((a) => a.app);
  const announcer = new Announcer(state, apps, config);
  const { compensate, compensateRun } = createCompensation({
    state,
    request,
    config,
    apps,
    ...(run ? { run } : {}),
    tagOf,
    failureMessage,
    setStatus,
    announcer,
  });
  await announcer.promotion(targetEnvironments(request, config));

  /** helm/helmfile report what they observed on the cluster; command deployers report nothing. */
  function recordObserved(current: EnvironmentState, result: DeployResult, step: 'diff' | 'apply'): void {
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
  }

  async function releaseEnvironment(env: string, landing?: number): Promise<void> {
    holds.delete(env);
    wanted.delete(env);
    try {
      await getExternalWorkflowHandle(lockIdOf(env)).signal(lockReleaseSignal, {
        holder: state.id,
        ...(run ? { run } : {}),
        ...(execution ? { current: execution } : {}),
        ...(landing ? { landing } : {}),
      });
    } catch (error) {
      // The lock already dropped us (its liveness check, or it ended): nothing left to release.
      log.warn('environment lock did not take the release', { env, error: String(error) });
    }
  }

  /** Tells the lock an apply starts or ended, so a holder lost after applying is never reverted by it. */
  async function tellLockApplying(env: string, applying: boolean): Promise<void> {
    try {
      await getExternalWorkflowHandle(lockIdOf(env)).signal(lockApplyingSignal, {
        holder: state.id,
        ...(run ? { run } : {}),
        ...(execution ? { current: execution } : {}),
        applying,
      });
    } catch (error) {
      log.warn('environment lock did not take the apply notice', { env, error: String(error) });
    }
  }

  /**
   * Why values already in Git must be applied anyway: the deployer reports a commit running whose values
   * differ. Undefined when they run, or when the deployer cannot tell (then `skipped`, as before).
   */
  async function valuesNotRunning(env: EnvironmentConfig, commit: string): Promise<string | undefined> {
    const running = await deployedState({
      repo: request.repo,
      branch: config.branch,
      commit,
      env: env.name,
      promotionId: state.id,
      valuesFile: env.valuesFile,
      deploy: config.deploy,
    });
    // Reporting nothing is no evidence either way (a cluster never deployed through Promote): skipped.
    if (!running.known || running.matches || !running.deployedCommit) return undefined;
    return `values already in Git; the cluster ran ${running.deployedCommit.slice(0, 12)}: applied`;
  }

  async function runEnvironment(env: EnvironmentConfig, current: EnvironmentState): Promise<Outcome> {
    let requested = false;
    let bump: BumpResult | undefined;
    let bumpStarted = false;
    let applyStarted = false;
    let applyEnded = false;
    /** While holding the environment: the scope that re-asserts its lock request, cancelled at release. */
    let holding: CancellationScope | undefined;

    async function undo(reason: string): Promise<void> {
      if (!runScoped) await compensate(env, current, bump, applyStarted, reason);
      else if (bumpStarted) await compensateRun(env, current, applyStarted, reason);
    }

    /** Ends the environment without deploying: the bump is reverted and the outcome announced. */
    async function stopBeforeApply(outcome: 'rejected' | 'superseded', reason: string): Promise<Outcome> {
      current.finishedAt = now();
      setStatus(current, outcome, `${env.name}: ${reason}`);
      await CancellationScope.nonCancellable(async () => {
        await undo(reason);
        await announcer.outcome(current, env, outcome, reason);
      });
      return outcome;
    }

    try {
      current.startedAt = now();
      // A reader must never see `queued` without knowing behind whom: say it once the holder is known.
      const queuedWithHolder = patched('queued-with-holder');
      if (!queuedWithHolder) setStatus(current, 'queued', `waiting for ${env.name} to be free`);
      requested = true;
      wanted.add(env.name);
      const environmentRequest = {
        repo: request.repo,
        env: env.name,
        holder: state.id,
        apps: appNames,
        branch: config.branch,
        valuesFile: env.valuesFile,
        ...(runScoped ? { lockId: requestLockId(env.name), ...(run ? { run } : {}) } : {}),
        ...(execution ? { current: execution } : {}),
      };
      const { holder, reassertMs } = await requestEnvironment(environmentRequest);
      if (holder) {
        current.queuedBehind = holder;
        if (queuedWithHolder) setStatus(current, 'queued', `queued for ${env.name} behind ${holder}`);
        else setCurrentDetails(`queued for ${env.name} behind ${holder}`);
      }
      const decidedForUs = () => granted.has(env.name) || supersededBy.has(env.name);
      if (runScoped) {
        // The lock is a cache of who waits: a lock workflow that was terminated or reset is rebuilt by
        // its waiters asking again (idempotently) now and then.
        // promote.yaml `lockTimeout`: queued longer fails naming the holder (runs without it wait as before).
        const lockTimeoutMs =
          env.lockTimeout !== undefined && patched('lock-timeout') ? env.lockTimeout : undefined;
        const queuedSince = Date.now();
        const every = reassertMs ?? DEFAULT_LOCK_REASSERT_MS;
        // Bounded history however long the wait: see reassertBackoff.
        const backoff = patched('lock-reassert-backoff') ? reassertBackoff(every) : undefined;
        const wait = () => {
          const interval = backoff?.current() ?? every;
          return lockTimeoutMs === undefined
            ? interval
            : Math.max(1, Math.min(interval, lockTimeoutMs - (Date.now() - queuedSince)));
        };
        while (!(await condition(decidedForUs, wait()))) {
          if (lockTimeoutMs !== undefined && Date.now() - queuedSince >= lockTimeoutMs)
            throw lockTimedOut(current, lockTimeoutMs);
          const again = await requestEnvironment(environmentRequest);
          if (again.holder && again.holder !== current.queuedBehind) {
            current.queuedBehind = again.holder;
            setStatus(current, 'queued', `queued for ${env.name} behind ${again.holder}`);
            backoff?.reset();
          } else backoff?.grow();
        }
      } else {
        await condition(decidedForUs);
      }
      delete current.queuedBehind;
      if (!granted.has(env.name)) {
        current.supersededBy = supersededBy.get(env.name);
        return await stopBeforeApply('superseded', `superseded by ${current.supersededBy}`);
      }
      if (runScoped && patched('lock-holder-reasserts')) {
        // The lock is a cache of who holds, too: a lock workflow terminated or reset while we hold the
        // environment learns us back, with where our apply stands, so it never reverts a live bump
        // and still cleans up after us if we die. Ends (cancelled) before the release.
        const every = reassertMs ?? DEFAULT_LOCK_REASSERT_MS;
        // A holder waiting days for approval re-asserts less and less often: bounded history.
        const backoff = patched('lock-reassert-backoff') ? reassertBackoff(every) : undefined;
        const scope = new CancellationScope();
        holding = scope;
        scope
          .run(async () => {
            for (;;) {
              await sleep(backoff?.current() ?? every);
              await requestEnvironment({
                ...environmentRequest,
                held: { applying: applyStarted && !applyEnded, applied: applyStarted },
              });
              backoff?.grow();
            }
          })
          .catch(() => undefined);
      }

      setStatus(current, 'bumping', `committing tags to ${env.valuesFile} for ${env.name}`);
      bumpStarted = true;
      bump = await (runScoped ? stepGit.bumpValues : bumpValues)({
        promotionId: state.id,
        ...(run ? { run } : {}),
        repo: request.repo,
        branch: config.branch,
        env: env.name,
        valuesFile: env.valuesFile,
        sinceCommit: state.configCommit ?? '',
        kind: state.kind,
        ...bumpEdits(config, apps),
      });
      current.commit = bump.commit;
      current.previousTag = tagValue(bump.previousTags);
      if (!bump.changed && !request.force) {
        // Values in Git are not proof they run (a holder terminated mid-apply): ask the deployer.
        const repair = patched('repair-when-values-in-git')
          ? await valuesNotRunning(env, bump.commit)
          : undefined;
        if (!repair) {
          current.finishedAt = now();
          setStatus(current, 'skipped', `${env.name} already runs the requested tags`);
          return 'skipped';
        }
        current.reapplied = repair;
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
      const diffed = await deploy({ ...deployInput, action: 'diff' });
      current.diff = diffed.output;
      recordObserved(current, diffed, 'diff');
      await announcer.progress(current, env, 'started');

      if (env.approval === 'manual') {
        const who = env.approvers ? env.approvers.join(', ') : 'anyone';
        setStatus(current, 'waiting-approval', `waiting for approval in ${env.name}: ${who}`);
        await announcer.progress(current, env, 'waiting-approval');
        const decided = await condition(
          () => current.decision !== undefined || supersededBy.has(env.name),
          env.approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT_MS,
          { summary: `approval timeout for ${env.name}` },
        );
        if (!decided)
          throw ApplicationFailure.create({ message: 'approval timed out', type: 'ApprovalTimedOut' });
        if (!current.decision) {
          current.supersededBy = supersededBy.get(env.name);
          return await stopBeforeApply('superseded', `superseded by ${current.supersededBy}`);
        }
        if (!current.decision.approved) {
          current.error = `rejected by ${current.decision.by}: ${current.decision.comment ?? ''}`;
          return await stopBeforeApply('rejected', current.error);
        }
      } else if (supersededBy.has(env.name)) {
        current.supersededBy = supersededBy.get(env.name);
        return await stopBeforeApply('superseded', `superseded by ${current.supersededBy}`);
      }

      applyStarted = true;
      setStatus(current, 'applying', `applying ${env.name} at ${bump.commit.slice(0, 12)}`);
      if (runScoped) await tellLockApplying(env.name, true);
      const applied = await deploy({ ...deployInput, action: 'apply' });
      applyEnded = true;
      current.applyOutput = applied.output;
      recordObserved(current, applied, 'apply');
      if (runScoped) await tellLockApplying(env.name, false);
      current.finishedAt = now();
      setStatus(
        current,
        'succeeded',
        current.reapplied ? `${env.name} deployed (${current.reapplied})` : `${env.name} deployed`,
      );
      await CancellationScope.nonCancellable(() => announcer.outcome(current, env, 'deployed'));
      return 'succeeded';
    } catch (error) {
      const cancelled = isCancellation(error);
      current.error = cancelled ? 'cancelled' : failureMessage(error);
      current.finishedAt = now();
      setStatus(current, 'failed', `${env.name} ${cancelled ? 'cancelled' : `failed: ${current.error}`}`);
      await CancellationScope.nonCancellable(async () => {
        await undo(current.error ?? 'failed');
        if (current.revertCommit && current.status !== 'compensation-failed')
          setStatus(current, 'reverted', `${env.name} reverted after: ${current.error}`);
        // Nothing to announce for an environment this promotion never touched (cancelled while queued).
        if (bump || current.revertCommit)
          await announcer.outcome(current, env, cancelled ? 'cancelled' : 'failed', current.error);
      });
      return cancelled ? 'cancelled' : 'failed';
    } finally {
      holding?.cancel();
      if (requested) await CancellationScope.nonCancellable(() => releaseEnvironment(env.name));
    }
  }

  /** Manual environments propose their bump on a branch and wait for approval without the lock. */
  const proposalContext = {
    state,
    request,
    config,
    apps,
    ...(run ? { run } : {}),
    ...(execution ? { current: execution } : {}),
    lockId: requestLockId,
    announcer,
    granted,
    supersededBy,
    setStatus,
    recordObserved,
    releaseEnvironment,
    wantEnvironment: (env: string) => void wanted.add(env),
    tellLockApplying,
    compensateRun,
    tagValue,
    failureMessage,
    watchReviews: reviews.watch,
  };

  let finalStatus: PromotionStatus = 'succeeded';
  for (const env of targetEnvironments(request, config)) {
    const current = envState(env.name);
    if (!current) continue;
    const proposals =
      runScoped && env.approval === 'manual' && env.proposals !== false && patched('proposals');
    const outcome = proposals
      ? await runProposal(proposalContext, env, current)
      : await runEnvironment(env, current);
    if (outcome !== 'succeeded' && outcome !== 'skipped') {
      finalStatus = PROMOTION_STATUS[outcome];
      break;
    }
  }

  state.status = finalStatus;
  state.finishedAt = now();
  metrics.promotion(finalStatus);
  upsertSearchAttributes([{ key: PromoteState, value: finalStatus }]);
  setCurrentDetails(`promotion ${finalStatus}`);
  await CancellationScope.nonCancellable(() => announcer.promotion(targetEnvironments(request, config)));
  if (finalStatus === 'succeeded') return state;

  const stopped = state.environments.find((e) => e.error || e.supersededBy);
  state.error = stopped
    ? `${stopped.name}: ${stopped.error ?? `superseded by ${stopped.supersededBy}`}`
    : finalStatus;
  const type = {
    failed: FailureType.PromotionFailed,
    rejected: FailureType.PromotionRejected,
    cancelled: FailureType.PromotionCancelled,
    running: FailureType.PromotionFailed,
    'waiting-approval': FailureType.PromotionFailed,
  }[finalStatus];
  // Failing the workflow makes the outcome obvious in the Web UI; the state rides along for the CLI.
  throw ApplicationFailure.create({ message: state.error, type, nonRetryable: true, details: [state] });
}
