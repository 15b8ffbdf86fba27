import { describe, expect, it } from '@jest/globals';
import { runGithubAction, runGitlabJob } from './support/ci-snippets.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';

const suite = useTemporal();

const DEV_AND_STAGING = {
  environments: [
    { name: 'dev', approval: 'auto' as const },
    { name: 'staging', approval: 'manual' as const },
  ],
};

/** The GitHub Action's inputs: api to `tag` in dev, built from `commit` of shop/api. */
function actionInputs(repo: TestRepo, tag: string, commit: string): Record<string, string> {
  return {
    repo: repo.url,
    app: 'api',
    tag,
    to: 'dev',
    'source-repo': 'https://github.com/shop/api',
    'source-commit': commit,
  };
}

describe('CI snippets run against a real server', () => {
  it('GitHub Action: promotes with the upstream commit and exits 0', async () => {
    const repo = await TestRepo.create(DEV_AND_STAGING);
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const run = await runGithubAction(actionInputs(repo, '1.5.0', '9f3e2c1a'), {
        TEMPORAL_ADDRESS: suite.temporal.address,
        PROMOTE_TASK_QUEUE: taskQueue,
        PROMOTE_USER: 'github-actions',
      });
      expect(run.output).toContain('promotion promote-api-1.5.0-');
      expect(run.code).toBe(0);
      expect(run.outputs.id).toMatch(/^promote-api-1\.5\.0-/);
      const [bump] = await repo.commits();
      expect(bump?.subject).toBe('feat(dev): update api to 1.5.0');
      expect(bump?.body).toContain('https://github.com/shop/api@9f3e2c1a');
    });
  });

  it('GitHub Action: a failed deploy fails the job with exit 1 and an annotation', async () => {
    const repo = await TestRepo.create(DEV_AND_STAGING);
    await repo.failApply('dev', 'image pull back-off');
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const run = await runGithubAction(actionInputs(repo, '1.6.0', 'abc1234'), {
        TEMPORAL_ADDRESS: suite.temporal.address,
        PROMOTE_TASK_QUEUE: taskQueue,
      });
      expect(run.code).toBe(1);
      expect(run.output).toMatch(/::error title=Promote::promote-api-1\.6\.0-\S+ did not succeed \(exit 1\)/);
    });
  });

  it('GitLab template: promotes, reports the id as a dotenv artifact, refuses bad input with exit 2', async () => {
    const repo = await TestRepo.create(DEV_AND_STAGING);
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const env = {
        TEMPORAL_ADDRESS: suite.temporal.address,
        PROMOTE_TASK_QUEUE: taskQueue,
        CI_PROJECT_URL: 'https://gitlab.example.com/shop/web',
        CI_COMMIT_SHA: '0a1b2c3d4e',
      };
      const job = { PROMOTE_REPO: repo.url, PROMOTE_APP: 'web', PROMOTE_TAG: '2.1.0', PROMOTE_TO: 'dev' };
      const run = await runGitlabJob(job, env);
      expect(run.code).toBe(0);
      expect(run.outputs.PROMOTE_ID).toMatch(/^promote-web-2\.1\.0-/);
      const [bump] = await repo.commits();
      expect(bump?.body).toContain('https://gitlab.example.com/shop/web@0a1b2c3d4e');

      const bad = await runGitlabJob({ ...job, PROMOTE_APP: 'billing' }, env);
      expect(bad.code).toBe(2);
      expect(bad.output).toContain('unknown app "billing"');
    });
  });
});
