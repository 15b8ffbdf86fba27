import { GitHubRepository } from '../../activities/providers/github.js';
import type { GitHubFactory } from '../../activities/repository.js';
import { GitHubStandIn } from './github-standin.js';
import { TestRepo } from './repo.js';

export const STANDIN_TOKEN = 'ghs_standin0123456789abcdefghijABCDEFGH';

let counter = 0;

/**
 * A deployment repository served by the GitHub stand-in, promote.yaml saying so, and the factory a
 * worker uses to reach it. Each its own repository name: environment locks are keyed by repository and
 * outlive a test's worker. The caller stops `github`. `options` replace the environments or add config.
 */
export async function gitHubTestRepo(
  options: Pick<NonNullable<Parameters<typeof TestRepo.create>[0]>, 'environments' | 'extraConfig'> = {},
): Promise<{
  repo: TestRepo;
  github: GitHubStandIn;
  factory: GitHubFactory;
  spec: string;
}> {
  const name = `deployment-${process.pid}-${++counter}-${Date.now().toString(36)}`;
  const repo = await TestRepo.create({
    environments: [
      { name: 'dev', approval: 'auto' },
      { name: 'staging', approval: 'manual' },
    ],
    ...options,
  });
  const config = await repo.file('promote.yaml');
  await repo.commitFile(
    'promote.yaml',
    `repository: {provider: github, owner: shop, repo: ${name}}\n${config}`,
    'chore: the deployment repository lives on GitHub',
  );
  const github = await GitHubStandIn.start({ repoPath: repo.url, token: STANDIN_TOKEN, repo: name });
  const factory: GitHubFactory = (spec) =>
    new GitHubRepository(
      { ...spec, baseUrl: github.baseUrl },
      { token: STANDIN_TOKEN },
      { author: { name: 'Promote', email: 'promote@localhost' }, paceWrites: false },
    );
  return { repo, github, factory, spec: `github:shop/${name}` };
}
