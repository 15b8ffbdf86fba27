import { log, proxyActivities, setCurrentDetails, sleep } from '@temporalio/workflow';
import type { Activities, BumpResult } from '../activities/index.js';
import type { EnvironmentConfig, PromoteConfig } from '../config/schema.js';
import type {
  AppRequest,
  EnvironmentState,
  PromotionRequest,
  PromotionState,
  TagValue,
} from '../common/types.js';
import { TIMEOUTS } from './timeouts.js';

const { revertBump } = proxyActivities<Activities>(TIMEOUTS.git);
const compensationGit = proxyActivities<Activities>(TIMEOUTS.compensation);
const { deploy } = proxyActivities<Activities>(TIMEOUTS.deploy);

export interface CompensationContext {
  state: PromotionState;
  request: PromotionRequest;
  config: PromoteConfig;
  apps: AppRequest[];
  run?: string;
  tagOf: (value: TagValue | undefined, app: string) => string | undefined;
  failureMessage: (error: unknown) => string;
}

/** Undoing a promotion's effect on one environment: the revert commit, and a rollback if apply started. */
export function createCompensation(ctx: CompensationContext) {
  const { state, request, config, apps, run, tagOf, failureMessage } = ctx;

  /**
   * Compensation must finish before the environment is released, or the next holder would deploy a
   * change nobody approved: each step is retried until it succeeds, the attempts visible in the Web UI.
   */
  async function untilDone<T>(what: string, step: () => Promise<T>): Promise<T> {
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
  async function compensateRun(
    env: EnvironmentConfig,
    current: EnvironmentState,
    applyStarted: boolean,
    reason: string,
  ): Promise<void> {
    const restored = apps.map(({ app }) => `${app} ${tagOf(current.previousTag, app) ?? '?'}`).join(', ');
    setCurrentDetails(`reverting ${env.name}`);
    const revert = await untilDone(`reverting ${env.name}`, () =>
      compensationGit.revertPromotion({
        promotionId: state.id,
        ...(run ? { run } : {}),
        repo: request.repo,
        branch: config.branch,
        env: env.name,
        sinceCommit: state.configCommit ?? '',
        valuesFile: env.valuesFile,
        subject: `revert(${env.name}): restore ${restored}`,
        reason,
      }),
    );
    if (!revert.commit) return;
    current.revertCommit = revert.commit;
    if (!applyStarted) return;
    const revertCommit = revert.commit;
    setCurrentDetails(`rolling back ${env.name} to ${revertCommit.slice(0, 12)}`);
    await untilDone(`rolling back ${env.name}`, () =>
      deploy({
        repo: request.repo,
        branch: config.branch,
        commit: revertCommit,
        env: env.name,
        promotionId: state.id,
        action: 'rollback',
        deploy: config.deploy,
      }),
    );
    current.rolledBack = true;
  }

  /** Undo this promotion's effect on one environment: revert the bump, roll back a started apply. */
  async function compensate(
    env: EnvironmentConfig,
    current: EnvironmentState,
    bump: BumpResult | undefined,
    applyStarted: boolean,
    reason: string,
  ): Promise<void> {
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
        await deploy({
          repo: request.repo,
          branch: config.branch,
          commit: revert.commit,
          env: env.name,
          promotionId: state.id,
          action: 'rollback',
          deploy: config.deploy,
        });
        current.rolledBack = true;
      }
    } catch (error) {
      current.error = `${current.error ?? reason}; compensation failed: ${failureMessage(error)}`;
      log.error('compensation failed', { env: env.name, error: failureMessage(error) });
    }
  }

  return { compensate, compensateRun };
}
