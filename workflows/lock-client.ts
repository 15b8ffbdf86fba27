import { getExternalWorkflowHandle, log, type SignalDefinition } from '@temporalio/workflow';
import type { EnvironmentRequest } from '../activities/index.js';
import type { EnvironmentConfig, PromoteConfig } from '../config/schema.js';
import type { AppRequest } from '../common/types.js';
import { lockApplyingSignal, lockReleaseSignal } from '../common/definitions.js';
import type { HeldEnvironments, LockNotice } from '../common/definitions.js';
import type { Saga } from './saga.js';

/**
 * This promotion's side of the environment locks: what the locks told it (grants, supersedes), which
 * environments it holds (for a lock rebuilt without state), and the notices it sends them. The
 * handlers that feed it are installed with the others in promotion-state.ts.
 */
export class EnvironmentLock {
  /** Environments whose lock granted them to this run. */
  readonly granted = new Set<string>();
  /** Environments a newer promotion took over, and by whom. */
  readonly supersededBy = new Map<string, string>();
  /**
   * Explicit holding state: an environment is held from its grant until the release is sent (cleared
   * first, so a rebuilt lock never adopts a run that already released).
   */
  private readonly wanted = new Set<string>();
  private readonly holds = new Set<string>();

  constructor(
    private readonly holder: string,
    private readonly repo: string,
    private readonly saga: Saga,
  ) {}

  /** The `heldEnvironments` query. */
  held(): HeldEnvironments {
    return { ...(this.saga.run ? { run: this.saga.run } : {}), envs: [...this.holds] };
  }

  /** The `lockGranted` signal. */
  onGranted(grant: { env: string; run?: string }): void {
    if (this.saga.forOtherSaga(grant)) {
      log.warn('ignored a grant for another run', { env: grant.env, run: grant.run });
      return;
    }
    this.grantedInAnswer(grant.env);
  }

  /**
   * The environment is this run's: from the `lockGranted` signal, or (`lock-granted-in-request`) from
   * the lock's answer to the request, one workflow task sooner.
   */
  grantedInAnswer(env: string): void {
    this.granted.add(env);
    if (this.wanted.has(env)) this.holds.add(env);
  }

  /** The `superseded` signal. */
  onSuperseded(notice: { env: string; by: string; run?: string }): void {
    if (this.saga.forOtherSaga(notice)) log.warn('ignored a supersede for another run', { env: notice.env });
    else this.supersededBy.set(notice.env, notice.by);
  }

  /** Marks the environment asked for: a grant from here until the release counts as holding it. */
  want(env: string): void {
    this.wanted.add(env);
  }

  /** True once the lock granted the environment or a newer promotion took this one's place. */
  decided(env: string): boolean {
    return this.granted.has(env) || this.supersededBy.has(env);
  }

  /** The request this run queues with (and re-asserts); `landing` numbers a rebuilt proposal's landing. */
  request(
    env: EnvironmentConfig,
    config: PromoteConfig,
    apps: AppRequest[],
    landing?: number,
  ): EnvironmentRequest {
    const { runScoped, run, execution } = this.saga;
    return {
      repo: this.repo,
      env: env.name,
      holder: this.holder,
      apps: apps.map((a) => a.app),
      branch: config.branch,
      valuesFile: env.valuesFile,
      ...(runScoped ? { lockId: this.saga.requestLockId(env.name), ...(run ? { run } : {}) } : {}),
      ...(execution ? { current: execution } : {}),
      ...(landing ? { landing } : {}),
    };
  }

  async release(env: string, landing?: number): Promise<void> {
    this.holds.delete(env);
    this.wanted.delete(env);
    // The lock already dropped us (its liveness check, or it ended): nothing left to release.
    await this.tell(env, lockReleaseSignal, landing ? { landing } : {}, 'the release');
  }

  /** Tells the lock an apply starts or ended, so a holder lost after applying is never reverted by it. */
  async tellApplying(env: string, applying: boolean): Promise<void> {
    await this.tell(env, lockApplyingSignal, { applying }, 'the apply notice');
  }

  /** One notice to the environment's lock, as this saga's execution; a lock that is gone is only logged. */
  private async tell<T extends object>(
    env: string,
    signal: SignalDefinition<[LockNotice & T]>,
    fields: T,
    what: string,
  ): Promise<void> {
    const { run, execution } = this.saga;
    try {
      await getExternalWorkflowHandle(this.saga.lockIdOf(env)).signal(signal, {
        holder: this.holder,
        ...(run ? { run } : {}),
        ...(execution ? { current: execution } : {}),
        ...fields,
      });
    } catch (error) {
      log.warn(`environment lock did not take ${what}`, { env, error: String(error) });
    }
  }
}
