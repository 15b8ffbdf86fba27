import { relativePathProblem } from './repo-location.js';
import { carriesCredentials, sourceProblem } from './credentials.js';
import { tagProblem } from './tags.js';
import type { PromotionRequest } from './types.js';

/** An environment as requests see it: the part of promote.yaml's `environments[]` they depend on. */
export interface RequestEnvironment {
  name: string;
  requires?: string;
}

/**
 * The part of promote.yaml a request is checked against. A shape here rather than the config's own
 * types: common/ sits below config/, and any parsed config (config/schema.ts) fits it.
 */
export interface RequestConfig<E extends RequestEnvironment = RequestEnvironment> {
  environments: readonly E[];
  apps: Readonly<Record<string, unknown>>;
}

/** Problems with a request against the repository's config; empty means it can run. Pure: shared with workflows. */
export function requestProblems(request: PromotionRequest, config: RequestConfig): string[] {
  const problems: string[] = [];
  const envNames = config.environments.map((e) => e.name);
  const unknownEnv = (name: string) =>
    `unknown environment "${name}" (promote.yaml defines: ${envNames.join(', ')})`;
  if (request.rollback) {
    const { app, env, toTag } = request.rollback;
    if (!(app in config.apps))
      problems.push(`unknown app "${app}" (promote.yaml defines: ${Object.keys(config.apps).join(', ')})`);
    if (!envNames.includes(env)) problems.push(unknownEnv(env));
    const problem = toTag === undefined ? undefined : tagProblem(toTag);
    if (problem) problems.push(problem);
    return problems;
  }
  if (request.apps.length === 0) problems.push('no app given: pass at least one app=tag');
  const seen = new Set<string>();
  for (const { app, tag, source } of request.apps) {
    const leak = source ? sourceProblem(app, `${source.repo}@${source.ref}`) : undefined;
    if (leak) problems.push(leak);
    if (seen.has(app)) problems.push(`app ${app} is given twice`);
    seen.add(app);
    if (!(app in config.apps)) {
      problems.push(`unknown app "${app}" (promote.yaml defines: ${Object.keys(config.apps).join(', ')})`);
    }
    const problem = tagProblem(tag);
    if (problem) problems.push(problem);
  }
  if (request.to !== undefined && !envNames.includes(request.to)) problems.push(unknownEnv(request.to));
  if (request.only !== undefined && !envNames.includes(request.only)) problems.push(unknownEnv(request.only));
  if (request.to !== undefined && request.only !== undefined)
    problems.push('--to and --only cannot be combined');
  return problems;
}

/** The environments a request goes through, in config order. */
export function targetEnvironments<E extends RequestEnvironment>(
  request: PromotionRequest,
  config: RequestConfig<E>,
): E[] {
  const envs = config.environments;
  const single = request.rollback?.env ?? request.only;
  if (single !== undefined) return envs.filter((e) => e.name === single);
  if (request.to === undefined) return [...envs];
  const last = envs.findIndex((e) => e.name === request.to);
  return envs.slice(0, last + 1);
}

/** The environment whose live tags `env` requires before `--only` may deploy it, if any. */
export function requiredEnvironment<E extends RequestEnvironment>(
  env: string,
  config: RequestConfig<E>,
): E | undefined {
  const index = config.environments.findIndex((e) => e.name === env);
  const own = config.environments[index];
  if (!own || own.requires === 'none') return undefined;
  if (own.requires !== undefined) return config.environments.find((e) => e.name === own.requires);
  return index > 0 ? config.environments[index - 1] : undefined;
}

/**
 * Credentials embedded in a repository URL would be stored in workflow history (the request is the
 * workflow's input), so they are refused: the worker's git credentials (SSH key, credential helper)
 * are the place for them.
 */
export function repoProblem(repo: string): string | undefined {
  if (!repo.trim()) return 'the repository must not be empty';
  const relative = relativePathProblem(repo);
  if (relative) return relative;
  if (carriesCredentials(repo)) {
    return 'the repository URL carries credentials, which would be stored in workflow history: configure git credentials on the worker (SSH key or credential helper) and pass the URL without them';
  }
  return undefined;
}
