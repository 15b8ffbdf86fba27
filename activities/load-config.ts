import { ApplicationFailure } from '@temporalio/activity';
import { ConfigError, CONFIG_FILE, parseConfig } from '../config/load.js';
import type { PromoteConfig } from '../config/schema.js';
import { FailureType } from '../common/failures.js';
import { requestProblems, targetEnvironments } from '../common/request.js';
import type { PromotionRequest } from '../common/types.js';
import { RepositoryUnreachableError, type RepositoryCache } from './repository.js';
import { readScalars, ValuesKeyError } from './values-file.js';
import { redact } from './redact.js';

export interface LoadedPromotion {
  /** The branch head whose promote.yaml this promotion follows. */
  commit: string;
  config: PromoteConfig;
  /** Tags currently in each target environment's values file, by app. */
  currentTags: Record<string, Record<string, string>>;
}

function badInput(message: string, type: FailureType): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true });
}

/**
 * Reads promote.yaml at the branch head and checks the whole request against it and the values files,
 * so bad input fails before anything is committed.
 */
export async function loadPromotion(
  cache: RepositoryCache,
  request: PromotionRequest,
): Promise<LoadedPromotion> {
  const repo = redact(request.repo);
  // promote.yaml names the branch to follow, so read it from the default branch first, then from
  // the named branch, whose copy is the one that counts.
  const fetch = (branch: string) =>
    cache.fetch(request.repo, branch).catch((error: unknown) => {
      if (error instanceof RepositoryUnreachableError)
        throw badInput(error.message, FailureType.RepositoryUnreachable);
      throw error;
    });
  let commit = await fetch('HEAD');
  let config = await readConfig(cache, request.repo, commit, repo);
  const branchHead = await fetch(config.branch);
  if (branchHead !== commit) {
    commit = branchHead;
    config = await readConfig(cache, request.repo, commit, repo);
  }

  const problems = requestProblems(request, config);
  if (problems.length > 0) throw badInput(problems.join('; '), FailureType.InvalidRequest);

  const currentTags: Record<string, Record<string, string>> = {};
  for (const env of targetEnvironments(request, config)) {
    const source = await cache.readFile(request.repo, commit, env.valuesFile);
    if (source === undefined) {
      throw badInput(
        `values file ${env.valuesFile} of environment ${env.name} does not exist`,
        FailureType.ValuesKeyMissing,
      );
    }
    const paths = request.apps.flatMap(({ app, source: upstream }) => {
      const appConfig = config.apps[app];
      if (!appConfig) return [];
      return upstream && appConfig.revisionPath
        ? [appConfig.tagPath, appConfig.revisionPath]
        : [appConfig.tagPath];
    });
    try {
      const values = readScalars(source, paths, env.valuesFile);
      currentTags[env.name] = Object.fromEntries(
        request.apps.map(({ app }) => [app, values.get(config.apps[app]?.tagPath ?? '') ?? '']),
      );
    } catch (error) {
      if (error instanceof ValuesKeyError) throw badInput(error.message, FailureType.ValuesKeyMissing);
      throw error;
    }
  }
  return { commit, config, currentTags };
}

async function readConfig(
  cache: RepositoryCache,
  url: string,
  commit: string,
  shownUrl: string,
): Promise<PromoteConfig> {
  const text = await cache.readFile(url, commit, CONFIG_FILE);
  if (text === undefined) {
    throw badInput(`${shownUrl} has no ${CONFIG_FILE} at ${commit.slice(0, 12)}`, FailureType.InvalidConfig);
  }
  try {
    return parseConfig(text, CONFIG_FILE);
  } catch (error) {
    if (error instanceof ConfigError) throw badInput(error.message, FailureType.InvalidConfig);
    throw error;
  }
}
