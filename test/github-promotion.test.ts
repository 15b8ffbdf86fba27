import { afterEach, describe, expect, it } from '@jest/globals';
import { decide, startPromotion, waitAccepted, waitFinished, waitForApproval } from '../client/promotions.js';
import { GitHubRepository } from '../activities/providers/github.js';
import type { GitHubFactory } from '../activities/repository.js';
import { GitHubStandIn } from './support/github-standin.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';

const suite = useTemporal();
const TOKEN = 'ghs_standin0123456789abcdefghijABCDEFGH';
let github: GitHubStandIn;
afterEach(async () => {
  await github?.stop();
});

/** The deployment repository served by the GitHub stand-in, with promote.yaml saying so. */
// Each test its own repository name: environment locks are keyed by repository, and outlive a test's worker.
let counter = 0;
async function gitHubRepo(): Promise<{ repo: TestRepo; factory: GitHubFactory; spec: string }> {
  const name = `deployment-${process.pid}-${++counter}`;
  const repo = await TestRepo.create({
    environments: [
      { name: 'dev', approval: 'auto' },
      { name: 'staging', approval: 'manual' },
    ],
  });
  const config = await repo.file('promote.yaml');
  await repo.commitFile(
    'promote.yaml',
    `repository: {provider: github, owner: shop, repo: ${name}}\n${config}`,
    'chore: the deployment repository lives on GitHub',
  );
  github = await GitHubStandIn.start({ repoPath: repo.url, token: TOKEN, repo: name });
  const factory: GitHubFactory = (spec) =>
    new GitHubRepository(
      { ...spec, baseUrl: github.baseUrl },
      { token: TOKEN },
      {
        author: { name: 'Promote', email: 'promote@localhost' },
        paceWrites: false,
      },
    );
  return { repo, factory, spec: `github:shop/${name}` };
}

describe('a promotion against the GitHub API (no clone)', () => {
  it('bumps through the Git Data API, deploys from an API checkout and waits for approval', async () => {
    const { repo, factory, spec } = await gitHubRepo();
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const handle = await startPromotion(
          suite.temporal.client,
          { repo: spec, apps: [{ app: 'api', tag: '1.5.0' }], requestedBy: 'test' },
          { taskQueue },
        );
        await waitAccepted(suite.temporal.client, handle.workflowId);
        const waiting = await waitForApproval(suite.temporal.client, handle.workflowId, 'staging');
        expect(waiting.environments[1]?.diff).toContain('+    tag: "1.5.0"');
        await decide(suite.temporal.client, handle.workflowId, {
          env: 'staging',
          approved: true,
          by: 'alice',
        });
        const done = await waitFinished(suite.temporal.client, handle.workflowId);
        expect(done.status).toBe('succeeded');

        const subjects = (await repo.commits()).map((c) => c.subject);
        expect(subjects.slice(0, 2)).toEqual([
          'feat(staging): update api to 1.5.0',
          'feat(dev): update api to 1.5.0',
        ]);
        expect(await repo.live('staging')).toContain('tag: "1.5.0"');
        expect(
          github.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/git/refs/heads/main')),
        ).toBe(true);
      },
      { github: factory },
    );
  });

  it('a rejection reverts the bump through the API', async () => {
    const { repo, factory, spec } = await gitHubRepo();
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const handle = await startPromotion(
          suite.temporal.client,
          { repo: spec, apps: [{ app: 'api', tag: '1.6.0' }], requestedBy: 'test' },
          { taskQueue },
        );
        await waitForApproval(suite.temporal.client, handle.workflowId, 'staging');
        await decide(suite.temporal.client, handle.workflowId, {
          env: 'staging',
          approved: false,
          by: 'bob',
          comment: 'not during the freeze',
        });
        const done = await waitFinished(suite.temporal.client, handle.workflowId);
        expect(done.status).toBe('rejected');
        const [revert] = await repo.commits();
        expect(revert?.subject).toMatch(/^revert\(staging\)/);
        expect(await repo.file('environments/staging.yaml')).toContain('tag: "1.4.0"');
      },
      { github: factory },
    );
  });

  it('refuses a git URL for a repository promote.yaml says is on GitHub, before committing', async () => {
    const { repo, factory, spec } = await gitHubRepo();
    const before = await repo.commits();
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const handle = await startPromotion(
          suite.temporal.client,
          { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }], requestedBy: 'test' },
          { taskQueue },
        );
        await expect(waitFinished(suite.temporal.client, handle.workflowId)).rejects.toThrow(
          `start promotions with --repo ${spec}`,
        );
      },
      { github: factory },
    );
    expect(await repo.commits()).toEqual(before);
  });
});
