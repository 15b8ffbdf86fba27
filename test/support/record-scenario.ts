// The one scenario runner every history recorder uses: a scenario runs on a fresh repository and worker,
// and only when one of its histories is missing (histories are append-only: an existing file is never
// recorded again). The repository is removed whatever the scenario did.
import type { Client } from '@temporalio/client';
import { decide, waitFinished, waitForApproval } from '../../client/promotions.js';
import { lockIdOf, terminateLockUntilHolderRebuildsIt } from './locks.js';
import { TestRepo } from './repo.js';
import type { TestTemporal } from './temporal.js';

/** Saves one workflow run's history under a name (record-histories.ts), never over an existing file. */
export type Save = (client: Client, name: string, workflowId: string, runId?: string) => Promise<void>;
/** Whether a history file is still missing. */
export type Missing = (name: string) => boolean;
export type RepoOptions = Parameters<typeof TestRepo.create>[0];
export type WorkerOptions = Parameters<TestTemporal['withWorker']>[1];
type Run<T> = (repo: TestRepo, taskQueue: string) => Promise<T>;

export interface ScenarioRunner {
  /** `run` saves its own histories; it runs only when one of `names` is missing. */
  scenario: (names: string[], options: RepoOptions, run: Run<void>, worker?: WorkerOptions) => Promise<void>;
  /** `run` returns the workflow id of each history to save, by name (a name left out is not saved). */
  saving: (names: string[], options: RepoOptions, run: Run<Record<string, string>>) => Promise<void>;
  /** One history: `run` returns the workflow id to save under `name`. */
  savingOne: (name: string, options: RepoOptions, run: Run<string>) => Promise<void>;
}

export function scenarioRunner(temporal: TestTemporal, save: Save, missing: Missing): ScenarioRunner {
  const scenario: ScenarioRunner['scenario'] = async (names, options, run, worker = {}) => {
    if (!names.some(missing)) return;
    const repo = await TestRepo.create(options);
    try {
      await temporal.withWorker(({ taskQueue }) => run(repo, taskQueue), worker);
    } finally {
      await repo.remove();
    }
  };
  const saving: ScenarioRunner['saving'] = (names, options, run) =>
    scenario(names, options, async (repo, taskQueue) => {
      const ids = await run(repo, taskQueue);
      for (const name of names) if (ids[name]) await save(temporal.client, name, ids[name]);
    });
  const savingOne: ScenarioRunner['savingOne'] = (name, options, run) =>
    scenario([name], options, async (repo, taskQueue) =>
      save(temporal.client, name, await run(repo, taskQueue)),
    );
  return { scenario, saving, savingOne };
}

/** What every recorder is given: the server, its client, how to save a history, which are missing. */
export interface Recorder extends ScenarioRunner {
  temporal: TestTemporal;
  client: Client;
  save: Save;
  missing: Missing;
}

export function recorder(temporal: TestTemporal, save: Save, missing: Missing): Recorder {
  return { temporal, client: temporal.client, save, missing, ...scenarioRunner(temporal, save, missing) };
}

/** Waits for promotion `id` to ask for approval in `env` and approves it as `by`. */
export async function approveWhenAsked(client: Client, id: string, env: string, by = 'carol'): Promise<void> {
  await waitForApproval(client, id, env);
  await decide(client, id, { env, approved: true, by });
}

/** Waits for promotion `id` to end; resolves its id, what a scenario saves. */
export async function finished(client: Client, id: string): Promise<string> {
  await waitFinished(client, id);
  return id;
}

/** {@link approveWhenAsked}, then waits for the promotion to end; resolves its id. */
export async function approveToEnd(client: Client, id: string, env: string, by = 'carol'): Promise<string> {
  await approveWhenAsked(client, id, env, by);
  return finished(client, id);
}

/**
 * The lock of `env` terminated while its holder waits and nobody else asks: resolves once the holder's
 * re-assert rebuilt it, with the lock's id and the rebuilt run's.
 */
export async function lockRebuiltByHolder(
  client: Client,
  repo: TestRepo,
  env: string,
): Promise<{ lockId: string; rebuilt: string }> {
  const lockId = lockIdOf(repo, env);
  const { runId } = await terminateLockUntilHolderRebuildsIt(
    client,
    lockId,
    'recording a lock rebuilt by its holder',
  );
  return { lockId, rebuilt: runId };
}
