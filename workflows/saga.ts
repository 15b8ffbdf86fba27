import { patched, workflowInfo } from '@temporalio/workflow';
import { environmentLockId, legacyRepositoryKey, repositoryKey } from '../common/ids.js';

/**
 * Who this run is to the environment locks and in commit trailers. Fixed at the start of the run: the
 * two patches are asked first thing, before any command, as every recorded run asked them.
 */
export interface Saga {
  /**
   * Runs started from `run-scoped-saga` on identify their run in lock requests and commit trailers,
   * find their own commits by trailers when compensating, retry compensation until it is done, tell
   * the lock when they apply, and share one lock per repository however its URL is spelled.
   */
  runScoped: boolean;
  /** The saga's run id (the first execution's from `reset-keeps-saga` on); undefined for older runs. */
  run?: string;
  /** This execution's run id when it may differ from `run` (after a `temporal workflow reset`). */
  execution?: string;
  /** True unless this execution is a reset of the saga's first (its config was read after the saga's commits). */
  firstExecution: boolean;
  /** A grant or supersede for another saga of this workflow id (a re-run after this one ends) is not ours. */
  forOtherSaga: (to: { run?: string }) => boolean;
  /** The lock id of an environment: the one this run first asked, else the id older runs computed. */
  lockIdOf: (env: string) => string;
  /** The lock id for a request; from `lock-id-in-state` on, fixed (and kept) at the first request. */
  requestLockId: (env: string) => string;
}

export function sagaOf(repo: string): Saga {
  const info = workflowInfo();
  const runScoped = patched('run-scoped-saga');
  /**
   * From `reset-keeps-saga` on the saga is named by the first execution's run id, which a `temporal
   * workflow reset` keeps: the lock keeps taking its notices, its liveness check still finds it, and its
   * commit trailers stay its own. `execution` tells the lock which execution asks, so a reset run may
   * ask anew for an environment its saga already released.
   */
  const sagaSurvivesReset = runScoped && patched('reset-keeps-saga');
  const run = runScoped ? (sagaSurvivesReset ? info.firstExecutionRunId : info.runId) : undefined;
  const execution = sagaSurvivesReset ? info.runId : undefined;
  /**
   * Each environment's lock id, fixed when the lock is first requested: the release and apply notices
   * go to the lock this run queued on, even if a newer worker would compute the id differently.
   */
  const lockIds = new Map<string, string>();
  const lockIdOf = (env: string) =>
    lockIds.get(env) ??
    (runScoped ? environmentLockId(legacyRepositoryKey(repo), env) : environmentLockId(repo, env));
  return {
    runScoped,
    ...(run ? { run } : {}),
    ...(execution ? { execution } : {}),
    firstExecution: !execution || execution === run,
    forOtherSaga: (to) => sagaSurvivesReset && to.run !== undefined && to.run !== run,
    lockIdOf,
    requestLockId: (env) => {
      // The key that folds the `github:` spec and GitHub's case into one repository; older runs keep theirs.
      if (runScoped && !lockIds.has(env) && patched('lock-id-in-state'))
        lockIds.set(env, environmentLockId(repositoryKey(repo), env));
      return lockIdOf(env);
    },
  };
}

/**
 * The saga's part of a key that finds its commits by trailers: its run, and, when this execution is
 * the saga's first, the commit its config was read at, before which none of its commits can be (the
 * activity then reads the branch from there instead of its whole history).
 */
export function sagaCommitSearch(
  saga: Pick<Saga, 'run' | 'firstExecution'>,
  configCommit: string | undefined,
): { run?: string; runSince?: string } {
  if (!saga.run) return {};
  return { run: saga.run, ...(saga.firstExecution && configCommit ? { runSince: configCommit } : {}) };
}
