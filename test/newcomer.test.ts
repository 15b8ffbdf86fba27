import { afterEach, describe, expect, it } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PromotionState } from '../common/types.js';
import { promoteCli, type CliResult } from './support/cli.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { envStatus, eventually } from './support/wait.js';
import { WorkerProcess } from './support/worker-process.js';
import { DEV_AUTO_THEN_STAGING_MANUAL } from './support/environments.js';

/**
 * A newcomer's first own promotion: typed from their own directory (the repository's parent), while
 * the worker runs from the project root.
 */
const suite = useTemporal();
const workers: { worker: WorkerProcess; taskQueue: string }[] = [];

afterEach(async () => {
  for (const { worker, taskQueue } of workers.splice(0)) {
    await suite.temporal.endWorkflowsOn(taskQueue);
    await worker.stop();
  }
});

function cliIn(cwd: string, taskQueue: string, env: Record<string, string> = {}) {
  return (args: string[]): Promise<CliResult> =>
    promoteCli(args, { address: suite.temporal.address, taskQueue, cwd, env });
}

const json = <T>(result: CliResult): T => JSON.parse(result.stdout) as T;

describe('a relative repository path', () => {
  it('is resolved against the caller’s directory, as a path or a file:// URL', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const cli = cliIn(repo.root, taskQueue);
      const byPath = await cli([
        'start',
        '--repo',
        'deployment.git',
        '--app',
        'api=1.7.0',
        '--wait',
        '--json',
      ]);
      expect(byPath.code).toBe(0);
      expect(json<PromotionState>(byPath)).toMatchObject({ repo: repo.url, status: 'succeeded' });

      const byUrl = await cli([
        'start',
        '--repo',
        'file://./deployment.git',
        '--app',
        'web=2.2.0',
        '--wait',
        '--json',
      ]);
      expect(byUrl.code).toBe(0);
      expect(json<PromotionState>(byUrl)).toMatchObject({ repo: `file://${repo.url}`, status: 'succeeded' });

      // PROMOTE_REPO is resolved the same way.
      const fromEnv = await cliIn(repo.root, taskQueue, { PROMOTE_REPO: './deployment.git' })([
        'start',
        '--app',
        'api=1.7.1',
        '--wait',
        '--json',
      ]);
      expect(fromEnv.code).toBe(0);
    });
    expect(await repo.file('environments/dev.yaml')).toContain('tag: "1.7.1"');
  });

  it('that cannot be read is named as resolved, with what was tried', async () => {
    const repo = await TestRepo.create();
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const result = await cliIn(
        repo.root,
        taskQueue,
      )(['start', '--repo', 'missing.git', '--app', 'api=1.5.0']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        `cannot read the repository ${join(repo.root, 'missing.git')}: git fetch of its default branch failed: '${join(repo.root, 'missing.git')}' does not appear to be a git repository`,
      );
      expect(result.stderr).not.toContain('branch HEAD');
    });
  });
});

describe('approving with the diff in sight', () => {
  it('shows the waiting environment’s diff in status, capped, and any environment’s with diff', async () => {
    const repo = await TestRepo.create();
    // The live staging differs in many more lines than the bump: the diff is longer than status shows.
    const live = await readFile(join(repo.cluster, 'staging.yaml'), 'utf8');
    const extra = Array.from({ length: 50 }, (_, i) => `legacy${i}: true`).join('\n');
    await writeFile(join(repo.cluster, 'staging.yaml'), `${live}${extra}\n`);

    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const cli = cliIn(repo.root, taskQueue);
      const started = await cli(['start', '--repo', 'deployment.git', '--app', 'api=1.7.0']);
      expect(started.code).toBe(0);
      const id = started.stdout.trim();
      await envStatus(suite.temporal.client, id, 'staging', 'waiting-approval');

      const status = await cli(['status', id]);
      expect(status.code).toBe(0);
      expect(status.stdout).toContain('diff for staging (what approving deploys):');
      expect(status.stdout).toMatch(/^ {4}- {4}tag: "1\.4\.0"$/m);
      expect(status.stdout).toMatch(/^ {4}\+ {4}tag: "1\.7\.0"$/m);
      expect(status.stdout).not.toContain('\u001b[');
      const shown = status.stdout.split('\n').filter((l) => l.startsWith('    ')).length;
      expect(shown).toBe(41); // 40 lines of diff and the note
      expect(status.stdout).toMatch(new RegExp(`… \\d+ more lines: promote diff ${id} --env staging$`, 'm'));
      expect(status.stdout).not.toContain('legacy49');

      const whole = await cli(['diff', id]);
      expect(whole.code).toBe(0);
      const staging = json<PromotionState>(await cli(['status', id, '--json'])).environments[1];
      expect(whole.stdout).toBe((staging?.diff ?? '').trimEnd());
      expect(whole.stdout).toContain('-legacy49: true');

      const dev = json<{ id: string; env: string; status: string; diff: string }>(
        await cli(['diff', id, '--env', 'dev', '--json']),
      );
      expect(dev).toMatchObject({ id, env: 'dev', status: 'succeeded' });
      expect(dev.diff).toContain('+    tag: "1.7.0"');

      const coloured = await cliIn(repo.root, taskQueue, { FORCE_COLOR: '1' })(['status', id]);
      expect(coloured.stdout).toContain('\u001b[32m+    tag: "1.7.0"\u001b[39m');
      expect(coloured.stdout).toContain('\u001b[31m-    tag: "1.4.0"\u001b[39m');

      const notYet = await cli(['diff', id, '--env', 'prod']);
      expect(notYet.code).toBe(2);
      expect(notYet.stderr).toContain(`prod of ${id} has no diff (it is pending)`);
      const unknown = await cli(['diff', id, '--env', 'qa']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('unknown environment "qa" (');

      expect(await cli(['approve', id, '--env', 'staging', '--as', 'carol'])).toMatchObject({
        code: 0,
        stdout: 'staging approved by carol',
      });
      await envStatus(suite.temporal.client, id, 'prod', 'waiting-approval');
      const prod = await cli(['status', id]);
      expect(prod.stdout).toContain('diff for prod (what approving deploys):');
      expect(prod.stdout).not.toContain('more line');
      expect((await cli(['reject', id, '--env', 'prod', '--as', 'bob', '--reason', 'freeze'])).code).toBe(0);
      await eventually('the rejection to end the promotion', async () => {
        const state = json<PromotionState>(await cli(['status', id, '--json']));
        return state.status === 'rejected' ? state : undefined;
      });
      // Decided: nothing waits, so status has no diff section; diff still prints prod's.
      expect((await cli(['status', id])).stdout).not.toContain('diff for');
      expect((await cli(['diff', id, '--env', 'prod'])).stdout).toContain('+    tag: "1.7.0"');
    });
  });
});

describe('the demo repository with a plain worker', () => {
  it('deploys to its simulated cluster from `promote worker` started in the project', async () => {
    const repo = await TestRepo.create({
      environments: DEV_AUTO_THEN_STAGING_MANUAL,
    });
    const taskQueue = `newcomer-${process.pid}`;
    // Nothing tells this worker where the cluster is: scripts/deploy.sh knows it from the repository.
    const worker = await WorkerProcess.start({
      TEMPORAL_ADDRESS: suite.temporal.address,
      PROMOTE_TASK_QUEUE: taskQueue,
      PROMOTE_CACHE_DIR: join(repo.root, 'worker-cache'),
      PROMOTE_DEMO_CLUSTER: '',
    });
    workers.push({ worker, taskQueue });
    const cli = cliIn(repo.root, taskQueue);

    const started = await cli(['start', '--repo', 'deployment.git', '--app', 'api=1.7.0']);
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    await envStatus(suite.temporal.client, id, 'staging', 'waiting-approval');
    expect((await cli(['status', id])).stdout).toMatch(/^ {4}\+ {4}tag: "1\.7\.0"$/m);
    expect((await cli(['approve', id, '--env', 'staging', '--as', 'carol'])).code).toBe(0);
    const final = await eventually('the promotion to succeed', async () => {
      const state = json<PromotionState>(await cli(['status', id, '--json']));
      return state.status === 'succeeded' ? state : undefined;
    });
    expect(final.environments.map((e) => e.status)).toEqual(['succeeded', 'succeeded']);
    for (const env of ['dev', 'staging']) {
      expect(await readFile(join(repo.cluster, `${env}.yaml`), 'utf8')).toContain('tag: "1.7.0"');
    }
  });
});
