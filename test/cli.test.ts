import { describe, expect, it } from '@jest/globals';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { waitForApproval } from '../client/promotions.js';
import { git } from '../activities/git.js';
import { cliOn, flags, promoteCli } from './support/cli.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { useTempDir } from './support/temp-dirs.js';

const suite = useTemporal();
let repo: TestRepo;

describe('promote start / approve / status', () => {
  it('runs a promotion from the command line, CI style', async () => {
    repo = await TestRepo.create();
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const cli = cliOn(suite.temporal.address, taskQueue);
      const startArgs = [
        'start',
        ...flags({
          repo: repo.url,
          app: 'api=1.5.0',
          source: 'api=https://git.example.com/shop/api@9f3e2c1',
        }),
      ];
      const started = await cli([...startArgs, '--json']);
      expect(started).toMatchObject({ code: 0 });
      const { id } = JSON.parse(started.stdout) as { id: string };
      expect(id).toMatch(/^promote-api-1\.5\.0-/);

      await waitForApproval(suite.temporal.client, id, 'staging');
      const status = await cli(['status', id, '--json']);
      expect(status.code).toBe(0);
      const state = JSON.parse(status.stdout) as {
        id: string;
        status: string;
        environments: { name: string; status: string; tag?: string; previousTag?: string; commit?: string }[];
      };
      expect(state).toMatchObject({ id, status: 'waiting-approval' });
      expect(state.environments[0]).toMatchObject({
        name: 'dev',
        status: 'succeeded',
        tag: '1.5.0',
        previousTag: '1.4.0',
      });
      expect(state.environments[0]?.commit).toMatch(/^[0-9a-f]{40}$/);

      // The validator's refusal reaches the user verbatim, with exit 2, and changes nothing.
      const early = await cli(['approve', id, '--env', 'prod', '--as', 'alice']);
      expect(early.code).toBe(2);
      expect(early.stderr).toContain('prod is not waiting for approval (it is pending)');
      const unknown = await cli(['approve', id, '--env', 'qa']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('unknown environment "qa"');

      expect(
        await cli(['approve', id, '--env', 'staging', '--as', 'carol', '--comment', 'ship it']),
      ).toMatchObject({
        code: 0,
        stdout: 'staging approved by carol',
      });
      const twice = await cli(['approve', id, '--env', 'staging', '--as', 'dave']);
      expect(twice.code).toBe(2);
      expect(twice.stderr).toContain('staging was already approved by carol');

      await waitForApproval(suite.temporal.client, id, 'prod');
      // Same request, same promotion: a retried CI job with --wait attaches to it and reports its outcome.
      const waiting = cli([...startArgs, '--wait']);
      const outsider = await cli(['approve', id, '--env', 'prod', '--as', 'mallory']);
      expect(outsider.code).toBe(2);
      expect(outsider.stderr).toContain('mallory may not decide for prod: its approvers are alice, bob');

      expect((await cli(['reject', id, '--env', 'prod', '--as', 'bob', '--reason', 'freeze'])).code).toBe(0);
      const waited = await waiting;
      expect(waited.code).toBe(1);
      expect(waited.stdout).toContain(`${id}: rejected`);
      expect(waited.stdout).toMatch(/prod\s+rejected/);

      const human = await cli(['status', id]);
      expect(human.stdout).toMatch(/staging\s+succeeded\s+1\.4\.0 → 1\.5\.0/);
      expect(human.stdout).toContain('approved by carol ("ship it")');
    });
  });

  it('exits 0 with --wait when the promotion succeeds', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const cli = cliOn(suite.temporal.address, taskQueue);
      const result = await cli(['start', '--repo', repo.url, '--app', 'web=3.0.0', '--wait', '--json']);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({
        status: 'succeeded',
        environments: [{ name: 'dev', status: 'succeeded', tag: '3.0.0' }],
      });
    });
  });
});

describe('bad input gets a clear error and changes nothing', () => {
  async function expectRefused(args: string[], message: string | RegExp, setup?: () => Promise<void>) {
    repo = await TestRepo.create();
    await setup?.();
    const before = await repo.commits();
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const result = await promoteCli(['start', ...args], {
        address: suite.temporal.address,
        taskQueue,
        env: { PROMOTE_REPO: repo.url },
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
    });
    expect(await repo.commits()).toEqual(before);
  }

  it.each([
    ['a tag with a space', 'api=1.5.0 beta', /invalid tag "1\.5\.0 beta"/],
    ['a tag with a quote', `api=1.5"`, /invalid tag/],
    ['a tag with command substitution', 'api=$(rm -rf /)', /invalid tag "\$\(rm -rf \/\)"/],
    ['a tag with a newline', 'api=1.5\n0', /invalid tag/],
    ['a tag starting with a dot', 'api=.1', /invalid tag/],
  ])('refuses %s before contacting anything', async (_name, app, message) => {
    await expectRefused(['--app', app], message);
  });

  it('refuses an unknown app', async () => {
    await expectRefused(
      ['--app', 'billing=1.0.0'],
      /unknown app "billing" \(promote\.yaml defines: api, web\)/,
    );
  });

  it('refuses an unknown environment', async () => {
    await expectRefused(['--app', 'api=1.5.0', '--to', 'qa'], /unknown environment "qa"/);
  });

  it('refuses a values file without the configured key path', async () => {
    await expectRefused(
      ['--app', 'api=1.5.0'],
      /environments\/staging\.yaml has no key api\.image\.tag/,
      async () => {
        await repo.commitFile(
          'environments/staging.yaml',
          'environment: staging\nweb:\n  image:\n    tag: "2.0.3"\n',
          'chore: drop api',
        );
      },
    );
  });

  it('refuses an invalid promote.yaml, naming the line and key', async () => {
    await expectRefused(
      ['--app', 'api=1.5.0'],
      /promote\.yaml:\d+: environments\[1\]\.approval/,
      async () => {
        const config = await repo.file('promote.yaml');
        await repo.commitFile(
          'promote.yaml',
          config.replace('approval: manual', 'approval: sometimes'),
          'chore: typo',
        );
      },
    );
  });

  it('refuses an unreachable repository', async () => {
    repo = await TestRepo.create();
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const cli = cliOn(suite.temporal.address, taskQueue);
      const result = await cli(['start', '--repo', join(repo.root, 'missing.git'), '--app', 'api=1.5.0']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /cannot read the repository .*missing\.git: git fetch of its default branch failed/,
      );
    });
  });

  it('refuses a repository URL with credentials, which would land in workflow history', async () => {
    const result = await promoteCli([
      'start',
      ...flags({ repo: 'https://x-access-token:ghs_secret123456@github.com/o/deploy.git', app: 'api=1.0.0' }),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the repository URL carries credentials');
    expect(result.stderr).not.toContain('ghs_secret123456');
  });

  it('refuses a start without a repository or app', async () => {
    expect(await promoteCli(['start', '--app', 'api=1.0.0'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('no repository') as unknown,
    });
    expect(await promoteCli(['start', '--repo', '/tmp/x'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('no app given') as unknown,
    });
  });
});

describe('promote validate', () => {
  const dir = useTempDir('promote-validate-');

  async function checkout(): Promise<string> {
    repo = await TestRepo.create();
    const work = join(dir(), `checkout-${Date.now()}`);
    await git(['clone', '--quiet', repo.url, work], { cwd: dir() });
    return work;
  }

  it('accepts a valid config and summarises it', async () => {
    const work = await checkout();
    const result = await promoteCli(['validate'], { cwd: work });
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain(
      'promote.yaml is valid: dev → staging (manual) → prod (manual); apps: api, web',
    );
  });

  it('checks that every values file exists and holds each tag path', async () => {
    const work = await checkout();
    await writeFile(
      join(work, 'environments', 'prod.yaml'),
      'environment: prod\napi:\n  image:\n    tag: "1"\n',
    );
    await rm(join(work, 'environments', 'staging.yaml'));
    const result = await promoteCli(['validate', join(work, 'promote.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /promote\.yaml:\d+: environments\[1\]\.valuesFile: environments\/staging\.yaml does not exist/,
    );
    expect(result.stderr).toMatch(
      /promote\.yaml:\d+: apps\.web\.tagPath: environments\/prod\.yaml has no key web\.image\.tag/,
    );
  });

  it('names file, line and key of every problem', async () => {
    const file = join(dir(), 'bad.yaml');
    await writeFile(
      file,
      [
        'branch: main',
        'environments:',
        '  - name: dev',
        '    valuesFile: /etc/passwd',
        '    approval: always',
        'apps: {}',
        'deploy:',
        '  type: command',
        '  diff: []',
        '  apply: ["x"]',
        '',
      ].join('\n'),
    );
    const result = await promoteCli(['validate', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${file}:4: environments[0].valuesFile: must be a path inside the repository`,
    );
    expect(result.stderr).toMatch(new RegExp(`${file}:5: environments\\[0\\]\\.approval: .*"auto"`));
    expect(result.stderr).toContain(`${file}:6: apps: must define at least one app`);
    expect(result.stderr).toContain(`${file}:9: deploy.diff: must name a command`);
  });

  it('refuses one GitHub login mapped to two approvers (one review would count twice)', async () => {
    const work = await checkout();
    const file = join(work, 'promote.yaml');
    const config = `${await readFile(file, 'utf8')}github:\n  users:\n    alice: octo-cat\n    bob: Octo-Cat\n`;
    await writeFile(file, config);
    const result = await promoteCli(['validate', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /promote\.yaml:\d+: github\.users\.bob: GitHub login Octo-Cat is already mapped to alice: one login is one approver/,
    );
    expect(await readFile(file, 'utf8')).toBe(config);
  });

  it('reports a missing file', async () => {
    const result = await promoteCli(['validate', join(dir(), 'nope.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot read');
  });
});
