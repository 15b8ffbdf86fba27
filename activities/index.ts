import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { DeployConfig } from '../config/schema.js';
import { FailureType } from '../common/failures.js';
import { repositoryKey } from '../common/ids.js';
import { PromoteEnv } from '../common/search-attributes.js';
import type {
  AbandonedBump,
  EnvironmentState,
  EnvironmentStatus,
  PromotionRequest,
  PromotionState,
} from '../common/types.js';
import { heldEnvironmentsQuery, statusQuery, type LockHolder } from '../common/definitions.js';
import {
  bumpValues,
  revertAbandonedBump,
  revertBump,
  revertPromotion,
  type BumpInput,
  type BumpResult,
  type PromotionRevert,
  type RevertInput,
  type RevertResult,
} from './bump.js';
import { createDeployer } from './deployers/index.js';
import { DEFAULT_COMPENSATION_RETRY_MS, retryWithin } from './bounded-retry.js';
import { createProposalActivities } from './proposal-activities.js';
import type { ActivityDeps } from './deps.js';
import { listedForAnotherRepository, startedRepository, withoutVisibilityTolerated } from './visibility.js';
import { createJanitorActivities } from './janitor.js';
import {
  requestEnvironment,
  requestEnvironmentGranting,
  type EnvironmentAnswer,
  type EnvironmentRequest,
} from './lock-requests.js';
import { createGovernanceActivities, type Gate } from './governance.js';
import type { DeployAction, DeployReport } from './deployers/deployer.js';
import { loadPromotion, type LoadedPromotion } from './load-config.js';
import { readOverview } from './overview.js';
import type { Overview } from '../common/overview.js';
import type { AnnounceResult, Announcement, AnnouncementEvent } from './notifier.js';
import { verifyApprovalSignature, type VerifySignatureInput } from './approval-signature.js';
import { readPullRequestReviews, type ReadReview, type ReviewsInput } from './github-reviews.js';
import { RepositoryNotAllowedError, RepositoryUnreachableError } from './repository.js';
import { GitHubRateLimitError } from './providers/github.js';
import { redact, redactDeep } from './redact.js';
import { ValuesKeyError } from './values-file.js';

export interface DeployInput {
  repo: string;
  branch: string;
  commit: string;
  env: string;
  promotionId: string;
  action: DeployAction;
  deploy: DeployConfig;
}

export interface DeployResult {
  output: string;
  /** True when the environment already ran this commit, so nothing was run. */
  alreadyDeployed?: boolean;
  /** helm/helmfile: releases, repairs and drift as observed on the cluster. */
  report?: DeployReport;
}

/** A held environment's bump, then its diff (`bumpAndDiff`): the bump's input and the deploy settings. */
export interface BumpAndDiffInput extends BumpInput {
  deploy: DeployConfig;
  /** `promote --force`: diffed even when the values are already in Git. */
  force?: boolean;
}

export interface BumpAndDiffResult {
  bump: BumpResult;
  /** The diff at the bump's commit; absent when the bump changed nothing and was not forced. */
  diff?: DeployResult;
}

/** The diff request of a bump: the environment at the deployment branch (the commit added by the caller). */
function deployOf(input: BumpAndDiffInput): Omit<DeployInput, 'action' | 'commit'> {
  return {
    repo: input.repo,
    branch: input.branch,
    env: input.env,
    promotionId: input.promotionId,
    deploy: input.deploy,
  };
}

/** What `deployedState` compares: the environment's values file at `commit` with what the deployer runs. */
export interface DeployedStateInput {
  repo: string;
  branch: string;
  commit: string;
  env: string;
  promotionId: string;
  valuesFile: string;
  deploy: DeployConfig;
}

/** Whether the environment runs the values Git holds at a commit, as far as its deployer can tell. */
export interface DeployedState {
  /** False when the deployer cannot tell (a command deployer without `deploy.status`). */
  known: boolean;
  /** The commit the deployer reports running; absent when it reports nothing deployed. */
  deployedCommit?: string;
  /** True when that commit is the one asked about, or holds the same values file. */
  matches: boolean;
}

export type { EnvironmentAnswer, EnvironmentRequest };

export type { ReadReview, ReviewsInput };
export type {
  Gate,
  BumpInput,
  BumpResult,
  LoadedPromotion,
  Announcement,
  AnnouncementEvent,
  PromotionRevert,
  RevertInput,
  RevertResult,
};

function nonRetryable(message: string, type: string, details?: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true, ...(details ? { details } : {}) });
}

/**
 * Statuses of an environment whose running promotion may still hold its lock: deploying it, or
 * compensating there after a rejection, supersede or failure (its revert and rollback run before it
 * releases the environment).
 */
const HOLDING_STATUSES: readonly EnvironmentStatus[] = [
  'bumping',
  'diffing',
  'waiting-approval',
  'applying',
  'rejected',
  'superseded',
  'failed',
  'reverted',
];

/** Holding judged from a promotion's status, for runs that predate the `heldEnvironments` query. */
/**
 * A promotion found holding an environment, as the lock records it: its saga (the first execution's
 * run id, which a reset keeps) and, when they differ, the execution that answered.
 */
function holderFrom(
  execution: { workflowId: string; runId: string },
  saga: string,
  state: PromotionState,
  env: EnvironmentState,
): LockHolder {
  return {
    holder: execution.workflowId,
    run: saga,
    ...(saga !== execution.runId ? { current: execution.runId } : {}),
    apps: state.apps.map((a) => a.app),
    since: env.startedAt ?? new Date().toISOString(),
    ...(env.status === 'applying' ? { applying: true, applied: true } : {}),
  };
}

function statusSaysHolding(env: EnvironmentState): boolean {
  if (!HOLDING_STATUSES.includes(env.status)) return false;
  // A proposal waits for approval without the lock: only a landing one holds the environment.
  return !env.proposal || ['landing', 'landed'].includes(env.proposal.phase);
}

/** A run that predates a query answers that it has no such handler: readable, just older. */
function isUnknownQuery(error: unknown): boolean {
  return /did not register a handler|not registered|unknown query/i.test(String((error as Error)?.message));
}

/** How long a rebuilding lock waits for one promotion to answer before counting it unreadable. */
const QUERY_DEADLINE_MS = 10_000;

export function createActivities(deps: ActivityDeps) {
  const heartbeatEvery = deps.heartbeatIntervalMs ?? 2_000;
  const compensationBudget = deps.compensationRetryMs ?? DEFAULT_COMPENSATION_RETRY_MS;

  /**
   * Heartbeats from the first moment, before any fetch or wait for the mirror's mutex: a worker that
   * dies is noticed by heartbeat timeout, and one that is merely slow is not mistaken for dead.
   */
  async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
    const context = Context.current();
    // A local activity (a short read run inside a workflow task) has no heartbeat to send.
    const beat = context.info.isLocal ? () => undefined : () => context.heartbeat();
    beat();
    const timer = setInterval(beat, heartbeatEvery);
    try {
      return await work();
    } catch (error) {
      // Retried when GitHub says the budget is back, not on the retry policy's shorter backoff.
      if (error instanceof GitHubRateLimitError)
        throw ApplicationFailure.create({
          message: error.message,
          type: FailureType.GitHubRateLimited,
          nextRetryDelay: error.retryAfterMs,
        });
      throw error;
    } finally {
      clearInterval(timer);
    }
  }

  /** A repository that refuses us (credentials, gone) mid-promotion: retrying cannot help. */
  function unreachableAsBadInput(error: unknown): never {
    if (error instanceof RepositoryUnreachableError)
      throw nonRetryable(error.message, FailureType.RepositoryUnreachable);
    if (error instanceof RepositoryNotAllowedError)
      throw nonRetryable(error.message, FailureType.RepositoryNotAllowed);
    throw error;
  }

  /** The bump, its failures told apart: a missing key or an unreachable repository is not retried. */
  async function bump(input: BumpInput): Promise<BumpResult> {
    try {
      return await bumpValues(deps.cache, input);
    } catch (error) {
      if (error instanceof ValuesKeyError) throw nonRetryable(error.message, FailureType.ValuesKeyMissing);
      return unreachableAsBadInput(error);
    }
  }

  /** One deploy command run; `beat` is called whenever it shows signs of life. */
  async function runDeploy(input: DeployInput, beat: () => void): Promise<DeployResult> {
    const context = Context.current();
    const deployer = createDeployer(input.deploy, { graceMs: deps.deployGraceMs, env: deps.deployEnv });
    // A commit this worker has not seen (bumped by another) is fetched by withWorktree, on demand.
    const fetchable = { branch: input.branch };
    return await deps.cache.withWorktree(
      input.repo,
      input.commit,
      async (checkout) => {
        const deployContext = {
          env: input.env,
          commit: input.commit,
          promotionId: input.promotionId,
          checkout,
          signal: context.cancellationSignal,
          onProgress: beat,
        };
        // A retried apply (its worker died mid-way) must not deploy twice what is already live.
        if (input.action === 'apply' && (await deployer.deployedCommit?.(deployContext)) === input.commit) {
          const tags = await deployer.observedTags?.(deployContext);
          return {
            output: `${input.env} already runs ${input.commit}; nothing to apply`,
            alreadyDeployed: true,
            ...(tags ? { report: { releases: [], tags } } : {}),
          };
        }
        // Whatever a deployer returns goes into history, status, Slack and pull requests: redacted here,
        // once for every deployer, whatever each did already.
        const outcome = redactDeep(await deployer.run(input.action, deployContext));
        if (outcome.cancelled) throw new CancelledFailure(outcome.error ?? 'cancelled');
        if (!outcome.ok) {
          throw nonRetryable(outcome.error ?? `${input.action} failed`, FailureType.DeployCommandFailed, [
            outcome.output,
          ]);
        }
        return { output: outcome.output, ...(outcome.report ? { report: outcome.report } : {}) };
      },
      fetchable,
    );
  }

  return {
    ...createProposalActivities(deps, heartbeating),
    ...createJanitorActivities(deps, heartbeating),
    ...createGovernanceActivities(deps),

    /** A signed decision's principal, verified against allowed_signers at the proposal's base commit. */
    async verifyApprovalSignature(input: VerifySignatureInput): Promise<{ principal: string }> {
      return heartbeating(() => verifyApprovalSignature(deps.cache, input).catch(unreachableAsBadInput));
    },

    /** GitHub pull request reviews, read by the worker: what the workflow counts as review approvals. */
    async pullRequestReviews(input: ReviewsInput): Promise<ReadReview[]> {
      return heartbeating(() => readPullRequestReviews(deps.cache, input));
    },

    async loadPromotion(request: PromotionRequest): Promise<LoadedPromotion> {
      return heartbeating(() => loadPromotion(deps.cache, request, deps.promotionStatus));
    },

    async bumpValues(input: BumpInput): Promise<BumpResult> {
      return heartbeating(() => bump(input));
    },

    /**
     * A held environment's bump and then its diff at the commit the bump made, in one activity: one
     * round trip instead of two, and the diff's worktree comes from the mirror the bump just fetched
     * and committed in (nothing fetched again). A bump that changed nothing is not diffed unless
     * forced: the workflow decides what follows then (skip, or ask the deployer what runs).
     */
    async bumpAndDiff(input: BumpAndDiffInput): Promise<BumpAndDiffResult> {
      return heartbeating(async () => {
        const bumped = await bump(input);
        if (!bumped.changed && !input.force) return { bump: bumped };
        const context = Context.current();
        const diffed = await runDeploy({ ...deployOf(input), commit: bumped.commit, action: 'diff' }, () =>
          context.heartbeat(),
        );
        return { bump: bumped, diff: diffed };
      });
    },

    async revertBump(input: RevertInput): Promise<RevertResult> {
      return heartbeating(() => revertBump(deps.cache, input));
    },

    /** Compensation: reverts this run's bump of one environment, found by its trailers. */
    async revertPromotion(input: PromotionRevert): Promise<RevertResult> {
      return heartbeating(() => revertPromotion(deps.cache, input));
    },

    /**
     * Values already in Git are not proof they run: a holder terminated mid-apply leaves its bump in Git
     * and the cluster behind. Asks the deployer what runs and compares values files.
     */
    async deployedState(input: DeployedStateInput): Promise<DeployedState> {
      return heartbeating(async () => {
        const context = Context.current();
        const deployer = createDeployer(input.deploy, { graceMs: deps.deployGraceMs, env: deps.deployEnv });
        if (!deployer.deployedCommit) return { known: false, matches: false };
        const deployedCommit = await deps.cache.withWorktree(
          input.repo,
          input.commit,
          (checkout) =>
            deployer.deployedCommit!({
              env: input.env,
              commit: input.commit,
              promotionId: input.promotionId,
              checkout,
              signal: context.cancellationSignal,
              onProgress: () => context.heartbeat(),
            }),
          { branch: input.branch },
        );
        if (!deployedCommit) return { known: true, matches: false };
        if (deployedCommit === input.commit) return { known: true, deployedCommit, matches: true };
        // Another commit (a later bump of another environment, say) may hold the very same values.
        const read = (commit: string) =>
          deps.cache.readFile(input.repo, commit, input.valuesFile).catch(() => undefined);
        const [deployed, wanted] = [await read(deployedCommit), await read(input.commit)];
        return { known: true, deployedCommit, matches: deployed !== undefined && deployed === wanted };
      });
    },

    async deploy(input: DeployInput): Promise<DeployResult> {
      const context = Context.current();
      // Heartbeats carry cancellation to this activity and prove the worker is alive during long applies.
      const beat = () => context.heartbeat();
      beat();
      const timer = setInterval(beat, heartbeatEvery);
      try {
        return await runDeploy(input, beat);
      } finally {
        clearInterval(timer);
      }
    },

    /**
     * Compensation: reverts this run's bump, retrying inside the activity (no history per attempt)
     * until it is done or the compensation budget is spent (`CompensationFailed`).
     */
    async revertPromotionWithin(input: PromotionRevert): Promise<RevertResult> {
      return retryWithin(
        `reverting ${input.env}`,
        compensationBudget,
        () => revertPromotion(deps.cache, input),
        heartbeatEvery,
      );
    },

    /** Compensation: deploys the revert commit (a rollback), retried like `revertPromotionWithin`. */
    async rollBackWithin(input: DeployInput): Promise<DeployResult> {
      return retryWithin(
        `rolling back ${input.env}`,
        compensationBudget,
        (beat) => runDeploy({ ...input, action: 'rollback' }, beat),
        heartbeatEvery,
      );
    },

    /** `promote overview`: tags in Git, deployed tags where the deployer can tell. */
    async readOverview(input: { repo: string }): Promise<Overview> {
      return readOverview(deps.cache, input, {
        graceMs: deps.deployGraceMs,
        signal: Context.current().cancellationSignal,
      });
    },

    async announce(announcement: Announcement): Promise<AnnounceResult> {
      try {
        // Slack and the announcement log show what an announcement carries: no secret may ride along.
        return (await deps.notifier.announce(redactDeep(announcement))) ?? {};
      } catch (error) {
        // Notifiers retry on their own terms (Slack's Retry-After); once they give up, so do we.
        throw nonRetryable(
          redact(error instanceof Error ? error.message : String(error)),
          FailureType.AnnouncementUndelivered,
        );
      }
    },

    /** Queues the promotion on the environment's lock workflow, starting it if needed. */
    async requestEnvironment(request: EnvironmentRequest): Promise<EnvironmentAnswer> {
      return requestEnvironment(deps, request);
    },

    /** The same by update (`lock-granted-in-request`): an uncontended environment is granted in the answer. */
    async requestEnvironmentGranting(request: EnvironmentRequest): Promise<EnvironmentAnswer> {
      return requestEnvironmentGranting(deps, request);
    },

    /** The lock's clean-up after a holder that died holding the environment: its bump must not ride along. */
    async revertAbandonedBump(input: AbandonedBump): Promise<RevertResult> {
      return heartbeating(() => revertAbandonedBump(deps.cache, input));
    },

    /**
     * Who holds the environment according to the promotions themselves: a lock workflow starting with
     * no state (its predecessor was terminated) must not grant anyone while such a holder may apply.
     */
    async findEnvironmentHolder(input: { repo: string; env: string }): Promise<LockHolder | undefined> {
      Context.current().heartbeat();
      const key = repositoryKey(input.repo);
      if (!/^[a-z0-9-]+$/.test(input.env)) return undefined;
      const query = `WorkflowType = 'promote' AND ExecutionStatus = 'Running' AND ${PromoteEnv.name} = '${input.env}'`;
      const executions = deps.client.workflow.list({ query });
      for await (const execution of withoutVisibilityTolerated(executions)) {
        Context.current().heartbeat();
        if (listedForAnotherRepository(execution, key)) continue;
        const handle = deps.client.workflow.getHandle(execution.workflowId, execution.runId);
        const state = await handle.query(statusQuery).catch(() => undefined);
        const env = state?.environments.find((e) => e.name === input.env);
        if (!state || !env || repositoryKey(state.repo) !== key) continue;
        // Holding: from its bump until it releases, which a rejected, superseded or failed holder does
        // only once its compensation (revert, rollback) is done. Either way it is the environment's
        // holder; one that has released and merely ends is let go by the liveness check.
        if (!statusSaysHolding(env)) continue;
        // The saga: a reset run keeps its first execution's run id (what it names itself by).
        const saga = execution.raw.firstRunId || execution.runId;
        return holderFrom(execution, saga, state, env);
      }
      return undefined;
    },

    /**
     * Every promotion that holds the environment by its own explicit holding state (the
     * `heldEnvironments` query: set at grant, cleared before the release; runs that predate it: by its
     * status), and those whose state cannot be read now (worker down, query timed out): a rebuilding
     * lock grants nothing while any is unreadable. Heartbeats per promotion read.
     */
    async findEnvironmentHolders(input: {
      repo: string;
      env: string;
    }): Promise<{ holders: LockHolder[]; unreadable: string[]; listed?: string[] }> {
      return heartbeating(async () => {
        const context = Context.current();
        const key = repositoryKey(input.repo);
        const holders: LockHolder[] = [];
        const unreadable: string[] = [];
        /** Every running promotion of this repository in the environment, holding or not. */
        const listed: string[] = [];
        if (!/^[a-z0-9-]+$/.test(input.env)) return { holders, unreadable, listed };
        const query = `WorkflowType = 'promote' AND ExecutionStatus = 'Running' AND ${PromoteEnv.name} = '${input.env}'`;
        for await (const execution of withoutVisibilityTolerated(deps.client.workflow.list({ query }))) {
          context.heartbeat();
          if (listedForAnotherRepository(execution, key)) continue;
          const handle = deps.client.workflow.getHandle(execution.workflowId);
          const ask = <T>(read: () => Promise<T>) =>
            deps.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, read).then(
              (value): { value: T } => ({ value }),
              (error: unknown): { error: unknown } => ({ error }),
            );
          const status = await ask(() => handle.query(statusQuery));
          if (!('value' in status)) {
            // Only a promotion of this repository can hold its environment: another repository's
            // (same environment name) whose worker is down must not keep this one closed.
            const startedFor = await ask(() => startedRepository(deps.client, execution.workflowId));
            if (
              'value' in startedFor &&
              startedFor.value !== undefined &&
              repositoryKey(startedFor.value) !== key
            )
              continue;
            unreadable.push(execution.workflowId);
            continue;
          }
          const state = status.value;
          const env = state.environments.find((e) => e.name === input.env);
          if (!env || repositoryKey(state.repo) !== key) continue;
          listed.push(execution.workflowId);
          const held = await ask(() => handle.query(heldEnvironmentsQuery));
          let holding: boolean;
          if ('value' in held) holding = held.value.envs.includes(input.env);
          else if (isUnknownQuery(held.error)) holding = statusSaysHolding(env);
          else {
            unreadable.push(execution.workflowId);
            continue;
          }
          if (!holding) continue;
          const saga =
            ('value' in held ? held.value.run : undefined) ?? (execution.raw.firstRunId || execution.runId);
          holders.push(holderFrom(execution, saga, state, env));
        }
        return { holders, unreadable, listed };
      });
    },

    /**
     * Liveness check for a lock holder: that very saga, when the lock knows it. A saga is named by its
     * first execution's run id, which a reset keeps: the workflow id's running execution belongs to it
     * when it is that run or a reset (or retry) of it.
     */
    async promotionIsRunning(id: string, run?: string): Promise<boolean> {
      try {
        const description = await deps.client.workflow.getHandle(id).describe();
        if (description.status.name !== 'RUNNING') return false;
        if (!run) return true;
        const first = description.raw.workflowExecutionInfo?.firstRunId;
        return description.runId === run || first === run;
      } catch (error) {
        if ((error as Error).name === 'WorkflowNotFoundError') return false;
        throw error;
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
