import { afterEach, describe, expect, it } from '@jest/globals';
import { cancelPromotion, getStatus, waitFinished, waitForApproval } from '../client/promotions.js';
import { STANDIN_TOKEN, standInFactory } from './support/github-repo.js';
import { GitHubStandIn } from './support/github-standin.js';
import { TestGitHttp } from './support/git-http.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';

/**
 * One repository on GitHub, spelled two ways by two teams: `github:shop/<name>` (the GitHub provider,
 * through the API stand-in) and `https://github.com/Shop/<name>` (plain git, which this machine's git
 * sends to a local smart-HTTP server serving the very same bare repository, via `url.insteadOf`).
 * Both promotions must queue on one lock for the environment, or both could deploy it at once.
 */
const suite = useTemporal();
const TOKEN = STANDIN_TOKEN;
let github: GitHubStandIn | undefined;
let gitHttp: TestGitHttp | undefined;
const savedEnv = { ...process.env };

afterEach(async () => {
  for (const key of ['GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0']) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
  await github?.stop();
  await gitHttp?.stop();
});

describe('one lock per repository on GitHub', () => {
  it('queues a promotion of `https://github.com/Shop/x` behind one of `github:shop/x`', async () => {
    const name = `deployment-${process.pid}-spelling`;
    const repo = await TestRepo.create({
      environments: [{ name: 'staging', approval: 'manual', proposals: false }],
    });
    github = await GitHubStandIn.start({ repoPath: repo.url, token: TOKEN, repo: name });
    gitHttp = await TestGitHttp.start(repo.url, 'x-access-token', TOKEN);
    // Where git would reach github.com, it reaches the local server holding the same repository.
    const local = gitHttp.url('deployment.git').replace('://', `://x-access-token:${TOKEN}@`);
    const httpsSpelling = `https://github.com/Shop/${name}`;
    Object.assign(process.env, {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: `url.${local}.insteadOf`,
      GIT_CONFIG_VALUE_0: httpsSpelling,
    });
    const stand = github;
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const viaApi = await startTagPromotion(suite.temporal.client, taskQueue, `github:shop/${name}`, {
          requestedBy: 'test',
        });
        await waitForApproval(suite.temporal.client, viaApi.workflowId, 'staging');

        const viaGit = await startTagPromotion(suite.temporal.client, taskQueue, httpsSpelling, {
          app: 'web',
          tag: '2.1.0',
          requestedBy: 'test',
        });
        // Either it queues, or (two locks) it takes staging while the first still holds it.
        const second = await eventually('the second promotion to queue for staging or take it', async () => {
          const state = await getStatus(suite.temporal.client, viaGit.workflowId);
          const staging = state.environments[0];
          return state.status !== 'running' || (staging && staging.status !== 'pending') ? state : undefined;
        });
        expect(second.environments[0]).toMatchObject({ status: 'queued', queuedBehind: viaApi.workflowId });

        // Once the first lets go, the second gets the environment.
        await cancelPromotion(suite.temporal.client, viaApi.workflowId);
        expect((await waitFinished(suite.temporal.client, viaApi.workflowId)).status).toBe('cancelled');
        await waitForApproval(suite.temporal.client, viaGit.workflowId, 'staging');
        await cancelPromotion(suite.temporal.client, viaGit.workflowId);
        expect((await waitFinished(suite.temporal.client, viaGit.workflowId)).status).toBe('cancelled');
      },
      { github: standInFactory(stand) },
    );
  });
});
