import type { PromoteConfig, EnvironmentConfig } from '../config/schema.js';
import { tagProblem } from './tags.js';
import type { PromotionRequest } from './types.js';

/** Problems with a request against the repository's config; empty means it can run. Pure: shared with workflows. */
export function requestProblems(request: PromotionRequest, config: PromoteConfig): string[] {
  const problems: string[] = [];
  if (request.apps.length === 0) problems.push('no app given: pass at least one app=tag');
  const seen = new Set<string>();
  for (const { app, tag } of request.apps) {
    if (seen.has(app)) problems.push(`app ${app} is given twice`);
    seen.add(app);
    if (!(app in config.apps)) {
      problems.push(`unknown app "${app}" (promote.yaml defines: ${Object.keys(config.apps).join(', ')})`);
    }
    const problem = tagProblem(tag);
    if (problem) problems.push(problem);
  }
  if (request.to !== undefined && !config.environments.some((e) => e.name === request.to)) {
    problems.push(
      `unknown environment "${request.to}" (promote.yaml defines: ${config.environments.map((e) => e.name).join(', ')})`,
    );
  }
  return problems;
}

/** The environments a request goes through, in config order. */
export function targetEnvironments(request: PromotionRequest, config: PromoteConfig): EnvironmentConfig[] {
  const envs = config.environments;
  if (request.to === undefined) return envs;
  const last = envs.findIndex((e) => e.name === request.to);
  return envs.slice(0, last + 1);
}
