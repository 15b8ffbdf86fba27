import { ConfigError, CONFIG_FILE, parseConfig } from '../config/load.js';
import type { PromoteConfig } from '../config/schema.js';
import { FailureType } from '../common/failures.js';
import type { Overview, OverviewCell } from '../common/overview.js';
import { repoProblem } from '../common/request.js';
import { createDeployer } from './deployers/index.js';
import { commitThatSet } from './history.js';
import { redact } from './redact.js';
import type { RepositoryCache } from './repository.js';
import { badInput, rethrowAsBadInput } from './bad-input.js';
import { readScalars } from './values-file.js';

function tagIn(source: string | undefined, tagPath: string, file: string): string | undefined {
  if (source === undefined) return undefined;
  try {
    return readScalars(source, [tagPath], file).get(tagPath);
  } catch {
    return undefined;
  }
}

async function configAt(cache: RepositoryCache, repo: string, commit: string): Promise<PromoteConfig> {
  const text = await cache.readFile(repo, commit, CONFIG_FILE);
  if (text === undefined)
    throw badInput(
      `${redact(repo)} has no ${CONFIG_FILE} at ${commit.slice(0, 12)}`,
      FailureType.InvalidConfig,
    );
  try {
    return parseConfig(text, CONFIG_FILE);
  } catch (error) {
    if (error instanceof ConfigError) throw badInput(error.message, FailureType.InvalidConfig);
    throw error;
  }
}

/**
 * The app × environment matrix behind `promote overview`, read by the worker because it is the one
 * with the repository (and the cluster credentials for `deploy.status`): CI jobs and laptops need no clone.
 */
export async function readOverview(
  cache: RepositoryCache,
  input: { repo: string },
  options: { graceMs?: number; signal?: AbortSignal } = {},
): Promise<Overview> {
  const problem = repoProblem(input.repo);
  if (problem) throw badInput(problem, FailureType.InvalidRequest);
  const fetch = (branch: string) => cache.fetch(input.repo, branch).catch(rethrowAsBadInput);
  let commit = await fetch('HEAD');
  let config = await configAt(cache, input.repo, commit);
  const head = await fetch(config.branch);
  if (head !== commit) {
    commit = head;
    config = await configAt(cache, input.repo, commit);
  }
  const apps = Object.keys(config.apps);
  const deployer = createDeployer(config.deploy, { graceMs: options.graceMs });
  const cells: OverviewCell[] = [];
  for (const env of config.environments) {
    const values = await cache.readFile(input.repo, commit, env.valuesFile);
    // What the environment runs, when the deployer can tell (a status command may need the checkout).
    const deployedCommit = deployer.deployedCommit
      ? await cache
          .withWorktree(input.repo, commit, (checkout) =>
            deployer.deployedCommit!({
              env: env.name,
              commit,
              promotionId: 'overview',
              checkout,
              signal: options.signal ?? new AbortController().signal,
              onProgress: () => undefined,
            }),
          )
          .catch(() => undefined)
      : undefined;
    const deployedValues =
      deployedCommit && /^[0-9a-f]{7,64}$/.test(deployedCommit)
        ? await cache.readFile(input.repo, deployedCommit, env.valuesFile).catch(() => undefined)
        : undefined;
    for (const app of apps) {
      const tagPath = config.apps[app]?.tagPath ?? '';
      const tag = tagIn(values, tagPath, env.valuesFile);
      const deployedTag = tagIn(deployedValues, tagPath, env.valuesFile);
      const setter =
        tag === undefined
          ? undefined
          : await commitThatSet(cache, {
              repo: input.repo,
              branch: config.branch,
              valuesFile: env.valuesFile,
              tagPath,
              current: tag,
            });
      cells.push({
        app,
        env: env.name,
        ...(tag !== undefined ? { tag } : {}),
        ...(deployedTag !== undefined ? { deployedTag, deployedCommit, drift: deployedTag !== tag } : {}),
        ...(setter?.promotionId ? { committedBy: setter.promotionId } : {}),
      });
    }
  }
  return {
    repo: redact(input.repo),
    branch: config.branch,
    commit,
    environments: config.environments.map((e) => e.name),
    apps,
    cells,
  };
}
