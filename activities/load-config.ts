import {
  ConfigError,
  CONFIG_FILE,
  configSizeProblem,
  MAX_CONFIG_BYTES,
  parseConfig,
} from '../config/load.js';
import type { PromoteConfig } from '../config/schema.js';
import { FailureType } from '../common/failures.js';
import { repoProblem, requestProblems, requiredEnvironment, targetEnvironments } from '../common/request.js';
import type { AppRequest, PromotionRequest, PromotionState } from '../common/types.js';
import { commitThatSet, previousTag } from './history.js';
import type { RepositoryCache } from './repository.js';
import { badInput, rethrowAsBadInput } from './bad-input.js';
import { valueOptions } from '../common/app-values.js';
import { readAppTag } from './formats/app-values.js';
import { parseGitHubSpec } from '../common/repo-spec.js';
import { hasKey, ValuesKeyError } from './values-file.js';
import { redact } from './redact.js';

export interface LoadedPromotion {
  /** The branch head whose promote.yaml this promotion follows. */
  commit: string;
  config: PromoteConfig;
  /** The apps and tags to move: the request's, or for a rollback the tag found in history. */
  apps: AppRequest[];
  /** Tags currently in each target environment's values file, by app. */
  currentTags: Record<string, Record<string, string>>;
}

/**
 * Reads promote.yaml at the branch head and checks the whole request against it and the values files,
 * so bad input fails before anything is committed.
 */
export async function loadPromotion(
  cache: RepositoryCache,
  request: PromotionRequest,
  promotionStatus: (id: string) => Promise<PromotionState | undefined>,
): Promise<LoadedPromotion> {
  const repoIssue = repoProblem(request.repo);
  if (repoIssue) throw badInput(repoIssue, FailureType.InvalidRequest);
  // Before anything is fetched: the repository's promote.yaml would decide what this worker runs.
  try {
    cache.checkAllowed(request.repo);
  } catch (error) {
    rethrowAsBadInput(error);
  }
  const repo = redact(request.repo);
  // promote.yaml names the branch to follow, so read it from the default branch first, then from
  // the named branch, whose copy is the one that counts.
  const fetch = (branch: string) => cache.fetch(request.repo, branch).catch(rethrowAsBadInput);
  // The branch promote.yaml named last time is fetched with HEAD, in one git process: when it still
  // names it, the second fetch is saved. A hint that fails (branch gone) falls back to one at a time.
  const hint = cache.followedBranch(request.repo);
  const both = hint ? await cache.fetchHeads(request.repo, ['HEAD', hint]).catch(() => undefined) : undefined;
  let commit = both?.[0] ?? (await fetch('HEAD'));
  let config = await readConfig(cache, request.repo, commit, repo);
  const branchHead = both && config.branch === hint ? both[1]! : await fetch(config.branch);
  cache.follow(request.repo, config.branch);
  if (branchHead !== commit) {
    commit = branchHead;
    config = await readConfig(cache, request.repo, commit, repo);
  }

  const hostProblem = repositoryProblem(request.repo, config);
  if (hostProblem) throw badInput(hostProblem, FailureType.InvalidRequest);
  const problems = requestProblems(request, config);
  if (problems.length > 0) throw badInput(problems.join('; '), FailureType.InvalidRequest);

  const readTags = async (envName: string, apps: AppRequest[], withRevisions = false) => {
    const env = config.environments.find((e) => e.name === envName);
    if (!env) return {};
    const source = await cache.readFile(request.repo, commit, env.valuesFile);
    if (source === undefined) {
      throw badInput(
        `values file ${env.valuesFile} of environment ${env.name} does not exist`,
        FailureType.ValuesKeyMissing,
      );
    }
    const read = (app: string) => ({
      tagPath: config.apps[app]?.tagPath ?? '',
      ...valueOptions(config.apps[app]),
    });
    try {
      // Revision paths are written only when a source is given, so only then must they exist.
      for (const { app, source: upstream } of withRevisions ? apps : []) {
        const { revisionPath, document, create } = config.apps[app] ?? {};
        const at = { path: revisionPath ?? '', ...(document !== undefined ? { document } : {}) };
        if (upstream && revisionPath && !create && !hasKey(source, at, env.valuesFile)) {
          throw new ValuesKeyError(`${env.valuesFile} has no key ${revisionPath}`);
        }
      }
      return Object.fromEntries(apps.map(({ app }) => [app, readAppTag(source, read(app), env.valuesFile)]));
    } catch (error) {
      if (error instanceof ValuesKeyError) throw badInput(error.message, FailureType.ValuesKeyMissing);
      throw error;
    }
  };

  const apps = request.rollback
    ? [await rollbackTarget(cache, request, config, commit, readTags)]
    : request.apps;
  if (request.only !== undefined) {
    await checkRequirement(cache, request, config, apps, readTags, promotionStatus);
  }

  const currentTags: Record<string, Record<string, string>> = {};
  for (const env of targetEnvironments(request, config)) {
    currentTags[env.name] = await readTags(env.name, apps, true);
  }
  return { commit, config, apps, currentTags };
}

type ReadTags = (env: string, apps: AppRequest[]) => Promise<Record<string, string>>;

/** A rollback's tag: the one asked for, or the one the environment ran before its current tag. */
async function rollbackTarget(
  cache: RepositoryCache,
  request: PromotionRequest,
  config: PromoteConfig,
  commit: string,
  readTags: ReadTags,
): Promise<AppRequest> {
  const { app, env, toTag } = request.rollback ?? { app: '', env: '' };
  if (toTag) return { app, tag: toTag };
  const current = (await readTags(env, [{ app, tag: '' }]))[app] ?? '';
  const envConfig = config.environments.find((e) => e.name === env);
  const tag = await previousTag(cache, {
    repo: request.repo,
    branch: config.branch,
    valuesFile: envConfig?.valuesFile ?? '',
    tagPath: config.apps[app]?.tagPath ?? '',
    ...valueOptions(config.apps[app]),
    current,
  });
  if (!tag) {
    throw badInput(
      `no earlier tag of ${app} in ${env}'s history (it has only ever run ${current}, as of ${commit.slice(0, 12)}); pass --to-tag`,
      FailureType.InvalidRequest,
    );
  }
  return { app, tag };
}

/**
 * `--only ENV`: the tags must already be live in the environment ENV requires. Checked against the
 * repository (its values file holds them) and, when a promotion put them there, that promotion's own
 * record of the environment, never by re-running it.
 */
async function checkRequirement(
  cache: RepositoryCache,
  request: PromotionRequest,
  config: PromoteConfig,
  apps: AppRequest[],
  readTags: ReadTags,
  promotionStatus: (id: string) => Promise<PromotionState | undefined>,
): Promise<void> {
  const required = requiredEnvironment(request.only ?? '', config);
  if (!required) return;
  const live = await readTags(required.name, apps);
  for (const { app, tag } of apps) {
    if (live[app] !== tag) {
      throw badInput(
        `${request.only} requires ${required.name}, which has ${app}=${live[app]}, not ${tag}: promote to ${required.name} first`,
        FailureType.InvalidRequest,
      );
    }
    const setter = await commitThatSet(cache, {
      repo: request.repo,
      branch: config.branch,
      valuesFile: required.valuesFile,
      tagPath: config.apps[app]?.tagPath ?? '',
      ...valueOptions(config.apps[app]),
      current: tag,
    });
    if (!setter?.promotionId || setter.action !== 'bump') continue;
    const past = await promotionStatus(setter.promotionId);
    const envState = past?.environments.find((e) => e.name === required.name);
    if (envState && envState.status !== 'succeeded' && envState.status !== 'skipped') {
      throw badInput(
        `${request.only} requires ${required.name}, where ${app}=${tag} was committed by ${setter.promotionId} but is ${envState.status}, not live`,
        FailureType.InvalidRequest,
      );
    }
  }
}

async function readConfig(
  cache: RepositoryCache,
  url: string,
  commit: string,
  shownUrl: string,
): Promise<PromoteConfig> {
  // Bounded: a huge promote.yaml is refused unread (git is stopped past the bound).
  const text = await cache.readBlob(url, commit, CONFIG_FILE, MAX_CONFIG_BYTES);
  const tooLarge = typeof text === 'object' ? configSizeProblem(text.tooLarge) : undefined;
  if (tooLarge) throw badInput(new ConfigError(CONFIG_FILE, [tooLarge]).message, FailureType.InvalidConfig);
  if (text === undefined || typeof text === 'object') {
    throw badInput(`${shownUrl} has no ${CONFIG_FILE} at ${commit.slice(0, 12)}`, FailureType.InvalidConfig);
  }
  try {
    return parseConfig(text, CONFIG_FILE);
  } catch (error) {
    if (error instanceof ConfigError) throw badInput(error.message, FailureType.InvalidConfig);
    throw error;
  }
}

/** promote.yaml's `repository:` must agree with how the promotion addresses the repository. */
function repositoryProblem(repo: string, config: PromoteConfig): string | undefined {
  const declared = config.repository;
  const spec = parseGitHubSpec(repo);
  if (declared?.provider !== 'github') return undefined;
  if (!spec) {
    return `promote.yaml says this repository is on GitHub (${declared.owner}/${declared.repo}): start promotions with --repo github:${declared.owner}/${declared.repo}, so the worker uses the GitHub API`;
  }
  if (spec.owner !== declared.owner || spec.repo !== declared.repo) {
    return `promote.yaml says this repository is github:${declared.owner}/${declared.repo}, not ${repo}`;
  }
  return undefined;
}
