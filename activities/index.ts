import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { DeployConfig } from '../config/schema.js';
import { FailureType } from '../common/failures.js';
import type { PromotionRequest } from '../common/types.js';
import { bumpValues, type BumpInput, type BumpResult } from './bump.js';
import { createDeployer } from './deployers/index.js';
import type { DeployAction } from './deployers/deployer.js';
import { loadPromotion, type LoadedPromotion } from './load-config.js';
import type { Announcement, Notifier } from './notifier.js';
import type { RepositoryCache } from './repository.js';
import { ValuesKeyError } from './values-file.js';

export interface ActivityDeps {
  cache: RepositoryCache;
  notifier: Notifier;
  /** How long a cancelled deploy command gets between SIGTERM and SIGKILL. */
  deployGraceMs?: number;
  heartbeatIntervalMs?: number;
}

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
}

export type { BumpInput, BumpResult, LoadedPromotion, Announcement };

export function createActivities(deps: ActivityDeps) {
  const heartbeatEvery = deps.heartbeatIntervalMs ?? 2_000;

  return {
    async loadPromotion(request: PromotionRequest): Promise<LoadedPromotion> {
      return loadPromotion(deps.cache, request);
    },

    async bumpValues(input: BumpInput): Promise<BumpResult> {
      try {
        return await bumpValues(deps.cache, input);
      } catch (error) {
        if (error instanceof ValuesKeyError) {
          throw ApplicationFailure.create({
            message: error.message,
            type: FailureType.ValuesKeyMissing,
            nonRetryable: true,
          });
        }
        throw error;
      }
    },

    async deploy(input: DeployInput): Promise<DeployResult> {
      const context = Context.current();
      await deps.cache.fetch(input.repo, input.branch);
      const deployer = createDeployer(input.deploy, { graceMs: deps.deployGraceMs });
      // Heartbeats carry cancellation to this activity and prove the worker is alive during long applies.
      const timer = setInterval(() => context.heartbeat(), heartbeatEvery);
      try {
        const outcome = await deps.cache.withWorktree(input.repo, input.commit, (checkout) =>
          deployer.run(input.action, {
            env: input.env,
            commit: input.commit,
            promotionId: input.promotionId,
            checkout,
            signal: context.cancellationSignal,
            onProgress: () => context.heartbeat(),
          }),
        );
        if (outcome.cancelled) throw new CancelledFailure(outcome.error ?? 'cancelled');
        if (!outcome.ok) {
          throw ApplicationFailure.create({
            message: outcome.error ?? `${input.action} failed`,
            type: FailureType.DeployCommandFailed,
            nonRetryable: true,
            details: [outcome.output],
          });
        }
        return { output: outcome.output };
      } finally {
        clearInterval(timer);
      }
    },

    async announce(announcement: Announcement): Promise<void> {
      await deps.notifier.announce(announcement);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
