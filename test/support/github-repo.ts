import type { Client } from '@temporalio/client';
import { GitHubRepository } from '../../activities/providers/github.js';
import type { GitHubFactory } from '../../activities/repository.js';
import type { SampleRepoOptions } from '../../demo/sample-repo.js';
import { GitHubStandIn } from './github-standin.js';
import { TestRepo } from './repo.js';
import { startTagPromotion } from './requests.js';

export const STANDIN_TOKEN = 'ghs_standin0123456789abcdefghijABCDEFGH';

/** The environments a GitHub repository test promotes through unless it says otherwise. */
const DEV_AUTO_STAGING_MANUAL = [
  { name: 'dev', approval: 'auto' as const },
  { name: 'staging', approval: 'manual' as const },
];

let counter = 0;

/** What a worker needs to promote a repository on the GitHub stand-in. */
export interface GitHubTestRepo {
  repo: TestRepo;
  github: GitHubStandIn;
  factory: GitHubFactory;
  /** `github:shop/<name>`: the repository a promotion request names. */
  spec: string;
}

/** The factory a worker uses to reach the stand-in, with the stand-in's token. */
export function standInFactory(github: GitHubStandIn): GitHubFactory {
  return (spec) =>
    new GitHubRepository(
      { ...spec, baseUrl: github.baseUrl },
      { token: STANDIN_TOKEN },
      { author: { name: 'Promote', email: 'promote@localhost' }, paceWrites: false },
    );
}

/**
 * A deployment repository served by the GitHub stand-in, promote.yaml saying so, and the factory a
 * worker uses to reach it (dev automatic and staging manual unless `options` say otherwise). Each its
 * own repository name (`prefix-…`): environment locks are keyed by repository and outlive a test's
 * worker. The caller stops `github`.
 */
export async function gitHubTestRepo(
  options: Omit<SampleRepoOptions, 'dir'> = {},
  prefix = 'deployment',
): Promise<GitHubTestRepo> {
  const name = `${prefix}-${process.pid}-${++counter}-${Date.now().toString(36)}`;
  const repo = await TestRepo.create({ environments: DEV_AUTO_STAGING_MANUAL, ...options });
  const config = await repo.file('promote.yaml');
  await repo.commitFile(
    'promote.yaml',
    `repository: {provider: github, owner: shop, repo: ${name}}\n${config}`,
    'chore: the deployment repository lives on GitHub',
  );
  const github = await GitHubStandIn.start({ repoPath: repo.url, token: STANDIN_TOKEN, repo: name });
  return { repo, github, factory: standInFactory(github), spec: `github:shop/${name}` };
}

/** Starts a promotion of api to `tag` in the GitHub repository `spec`, requested by `test`. */
export function startGitHubPromotion(
  client: Client,
  taskQueue: string,
  spec: string,
  tag = '1.5.0',
): ReturnType<typeof startTagPromotion> {
  return startTagPromotion(client, taskQueue, spec, { tag, requestedBy: 'test' });
}
