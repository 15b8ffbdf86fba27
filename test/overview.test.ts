import { describe, expect, it } from '@jest/globals';
import type { Overview } from '../common/overview.js';
import { promoteCli } from './support/cli.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { envStatus } from './support/wait.js';

const suite = useTemporal();

describe('promote overview', () => {
  it('shows tags in Git, drift from what runs, and the last promotion of each cell', async () => {
    const repo = await TestRepo.create();
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const opts = { address: suite.temporal.address, taskQueue };
      const started = await promoteCli(
        ['start', '--repo', repo.url, '--app', 'api=1.5.0', '--to', 'staging', '--json'],
        opts,
      );
      const { id } = JSON.parse(started.stdout) as { id: string };
      await envStatus(suite.temporal.client, id, 'staging', 'waiting-approval');
      await promoteCli(['approve', id, '--env', 'staging', '--as', 'carol'], opts);
      expect((await promoteCli(['watch', id], opts)).code).toBe(0);

      // Someone edits dev's web tag by hand and never deploys it: Git and the cluster now disagree.
      await repo.editFile('environments/dev.yaml', 'tag: "2.0.3"', 'tag: "2.0.9"', 'chore: hand edit');

      const json = await promoteCli(['overview', '--repo', repo.url, '--json'], opts);
      expect(json.code).toBe(0);
      const overview = JSON.parse(json.stdout) as Overview;
      expect(overview).toMatchObject({
        branch: 'main',
        environments: ['dev', 'staging', 'prod'],
        apps: ['api', 'web'],
      });
      const cell = (app: string, env: string) => overview.cells.find((c) => c.app === app && c.env === env);
      expect(cell('api', 'dev')).toMatchObject({
        tag: '1.5.0',
        deployedTag: '1.5.0',
        drift: false,
        committedBy: id,
        lastPromotion: { id, state: 'succeeded' },
      });
      expect(cell('api', 'staging')).toMatchObject({ tag: '1.5.0', drift: false, lastPromotion: { id } });
      expect(cell('web', 'dev')).toMatchObject({ tag: '2.0.9', deployedTag: '2.0.3', drift: true });
      // prod was never deployed through Promote: its deploy.status has nothing to say, so no drift claim.
      expect(cell('api', 'prod')).toEqual({ app: 'api', env: 'prod', tag: '1.4.0' });

      const human = await promoteCli(['overview'], { ...opts, env: { PROMOTE_REPO: repo.url } });
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^\s+dev\s+staging\s+prod$/m);
      expect(human.stdout).toMatch(/^api\s+1\.5\.0\s+1\.5\.0\s+1\.4\.0$/m);
      expect(human.stdout).toMatch(/^web\s+2\.0\.9 ≠ runs 2\.0\.3\s+2\.0\.3\s+2\.0\.3$/m);
      expect(human.stdout).toContain(`succeeded         ${id}`);
    });
  });

  it('refuses an unreachable repository with exit 2', async () => {
    const repo = await TestRepo.create();
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const result = await promoteCli(['overview', '--repo', `${repo.root}/missing.git`], {
        address: suite.temporal.address,
        taskQueue,
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/cannot read the repository .*missing\.git/);
    });
  });
});
