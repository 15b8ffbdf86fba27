import { afterEach, describe, expect, it } from '@jest/globals';
import { decide, getStatus, waitAccepted, waitFinished, waitForApproval } from '../client/promotions.js';
import type { GitHubFactory } from '../activities/repository.js';
import { gitHubTestRepo, startGitHubPromotion } from './support/github-repo.js';
import type { GitHubStandIn } from './support/github-standin.js';
import type { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { approveToEnd, rejectToEnd } from './support/approve.js';

const suite = useTemporal();
let github: GitHubStandIn;
afterEach(async () => {
  await github?.stop();
});

/** The deployment repository served by the GitHub stand-in, stopped after the test. */
async function gitHubRepo(): Promise<{ repo: TestRepo; factory: GitHubFactory; spec: string }> {
  const made = await gitHubTestRepo();
  github = made.github;
  return made;
}

/**
 * api to 1.7.0 through the GitHub stand-in, waiting for approval in staging: `test` gets the repository,
 * the promotion's id and the commit staging waits on.
 */
async function whileStagingWaits(
  test: (repo: TestRepo, id: string, commit: string) => Promise<void>,
): Promise<void> {
  const { repo, factory, spec } = await gitHubRepo();
  await suite.temporal.withWorker(
    async ({ taskQueue }) => {
      const handle = await startGitHubPromotion(suite.temporal.client, taskQueue, spec, '1.7.0');
      const waiting = await waitForApproval(suite.temporal.client, handle.workflowId, 'staging');
      await test(repo, handle.workflowId, waiting.environments[1]?.commit ?? '');
    },
    { github: factory },
  );
}

describe('a promotion against the GitHub API (no clone)', () => {
  it('bumps through the Git Data API, deploys from an API checkout and waits for approval', async () => {
    const { repo, factory, spec } = await gitHubRepo();
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const handle = await startGitHubPromotion(suite.temporal.client, taskQueue, spec);
        await waitAccepted(suite.temporal.client, handle.workflowId);
        const waiting = await waitForApproval(suite.temporal.client, handle.workflowId, 'staging');
        expect(waiting.environments[1]?.diff).toContain('+    tag: "1.5.0"');
        const done = await approveToEnd(suite.temporal.client, handle.workflowId, 'staging', 'alice');
        expect(done.status).toBe('succeeded');

        // staging's proposal was a pull request, merged at the approved head SHA, its branch deleted.
        const proposal = waiting.environments[1]?.proposal;
        expect(proposal?.url).toBe(`https://github.example.com/shop/${spec.split('/')[1]}/pull/1`);
        const pull = github.pulls.get(1);
        expect(pull).toMatchObject({
          title: 'feat(staging): update api to 1.5.0',
          head: `promote/staging/${handle.workflowId}`,
          merged: true,
          state: 'closed',
        });
        expect(pull?.body).toContain(handle.workflowId);
        expect(pull?.body).toContain('+    tag: "1.5.0"');
        expect(github.requests.some((r) => r.method === 'PUT' && r.path.endsWith('/pulls/1/merge'))).toBe(
          true,
        );
        expect(await repo.branches()).toEqual(['main']);
        const subjects = (await repo.commits()).map((c) => c.subject);
        expect(subjects.slice(0, 3)).toEqual([
          `Merge pull request #1 from shop/promote/staging/${handle.workflowId}`,
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

  it('a rejection closes the pull request with the reason; the deployment branch never sees it', async () => {
    const { repo, factory, spec } = await gitHubRepo();
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const { client } = suite.temporal;
        const handle = await startGitHubPromotion(client, taskQueue, spec, '1.6.0');
        await waitForApproval(client, handle.workflowId, 'staging');
        const done = await rejectToEnd(client, handle.workflowId, 'staging', 'bob', 'not during the freeze');
        expect(done.status).toBe('rejected');
        const subjects = (await repo.commits()).map((c) => c.subject);
        expect(subjects[0]).toBe('feat(dev): update api to 1.6.0');
        expect(subjects.some((s) => s.startsWith('revert'))).toBe(false);
        expect(await repo.file('environments/staging.yaml')).toContain('tag: "1.4.0"');
        expect(github.pulls.get(1)).toMatchObject({ state: 'closed', merged: false });
        expect(github.pulls.get(1)?.comments.join('\n')).toContain('not during the freeze');
        expect(await repo.branches()).toEqual(['main']);
      },
      { github: factory },
    );
  });

  it('a pull request that no longer merges is rebuilt and approved again', async () => {
    await whileStagingWaits(async (repo, id, stale) => {
      const client = suite.temporal.client;
      await repo.editFile(
        'environments/staging.yaml',
        'tag: "1.4.0"',
        'tag: "1.4.2"',
        'hotfix api in staging',
      );
      await decide(client, id, { env: 'staging', approved: true, by: 'alice', commit: stale });
      const rebuilt = await eventually('a rebuilt proposal', async () => {
        const state = await getStatus(client, id);
        const env = state.environments[1];
        return env?.status === 'waiting-approval' && env.proposal?.reason ? env : undefined;
      });
      expect(rebuilt.proposal?.reason).toMatch(/can no longer be merged/);
      expect(rebuilt.commit).not.toBe(stale);
      // The same pull request, now showing the rebuilt commit.
      expect(rebuilt.proposal?.url).toMatch(/\/pull\/1$/);
      await decide(client, id, { env: 'staging', approved: true, by: 'alice', commit: rebuilt.commit ?? '' });
      expect((await waitFinished(client, id)).status).toBe('succeeded');
      expect(github.pulls.get(1)).toMatchObject({ merged: true });
      expect(await repo.live('staging')).toContain('tag: "1.7.0"');
    });
  });

  it.each([
    ['Merge commits are not allowed on this repository.', /merge method/],
    ['Repository rule violations found\n\nRequired status check "ci" is expected.\n\n', /rule/],
  ])('a merge GitHub refuses by rule (%j) fails naming the rule, not rebuilt', async (rule, kind) => {
    await whileStagingWaits(async (repo, id, commit) => {
      const client = suite.temporal.client;
      github.mergeRule = rule;
      await decide(client, id, { env: 'staging', approved: true, by: 'alice', commit });
      const final = await waitFinished(client, id);
      expect(final.status).toBe('failed');
      const staging = final.environments[1];
      expect(staging?.status).toBe('failed');
      expect(staging?.proposal?.rebuilds).toBeUndefined();
      expect(staging?.error).toContain(rule.split('\n')[0]?.replace(/\.$/, '') ?? '');
      expect(staging?.error).toMatch(kind);
      expect(await repo.file('environments/staging.yaml')).toContain('tag: "1.4.0"');
      expect(github.pulls.get(1)).toMatchObject({ merged: false, state: 'closed' });
    });
  });

  it('refuses a git URL for a repository promote.yaml says is on GitHub, before committing', async () => {
    const { repo, factory, spec } = await gitHubRepo();
    const before = await repo.commits();
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        // The repository's git URL, not its GitHub spec.
        const handle = await startGitHubPromotion(suite.temporal.client, taskQueue, repo.url);
        await expect(waitFinished(suite.temporal.client, handle.workflowId)).rejects.toThrow(
          `start promotions with --repo ${spec}`,
        );
      },
      { github: factory },
    );
    expect(await repo.commits()).toEqual(before);
  });
});
