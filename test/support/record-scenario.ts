// The one scenario runner every history recorder uses: a scenario runs on a fresh repository and worker,
// and only when one of its histories is missing (histories are append-only: an existing file is never
// recorded again). The repository is removed whatever the scenario did.
import type { Client } from '@temporalio/client';
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
