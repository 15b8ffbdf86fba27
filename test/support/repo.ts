import { chmod, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git } from '../../activities/git.js';
import { createSampleRepo, seedSimulatedCluster, type SampleRepoOptions } from '../../demo/sample-repo.js';

export interface Commit {
  hash: string;
  subject: string;
  body: string;
}

/**
 * `git log` of main in the repository at `cwd`, newest first (`oldestFirst`: reversed): per commit, the
 * `git log --format` placeholders given (`%H`, `%s`, …), each one's text.
 */
export async function logFields(
  cwd: string,
  placeholders: string[],
  oldestFirst = false,
): Promise<string[][]> {
  const format = `--format=${placeholders.join('%x1f')}%x1e`;
  const out = await git(['log', ...(oldestFirst ? ['--reverse'] : []), format, 'main'], { cwd });
  return out
    .split('\x1e')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => entry.split('\x1f'));
}

/** A real bare deployment repository plus the simulated cluster its deploy script writes to. */
export class TestRepo {
  private static readonly created = new Set<TestRepo>();

  private constructor(
    readonly root: string,
    readonly url: string,
    readonly cluster: string,
  ) {}

  static async create(options: Omit<SampleRepoOptions, 'dir'> = {}): Promise<TestRepo> {
    const root = await mkdtemp(join(tmpdir(), 'promote-test-'));
    const url = join(root, 'deployment.git');
    await createSampleRepo({ ...options, dir: url });
    const repo = new TestRepo(root, url, join(root, 'cluster'));
    await seedSimulatedCluster(url, repo.cluster);
    TestRepo.created.add(repo);
    // The deploy script finds its simulated cluster through the worker's environment.
    process.env.PROMOTE_DEMO_CLUSTER = repo.cluster;
    return repo;
  }

  async commits(): Promise<Commit[]> {
    return (await logFields(this.url, ['%H', '%s', '%b'])).map(([hash = '', subject = '', body = '']) => ({
      hash,
      subject,
      body,
    }));
  }

  /** The repository's branches (proposal branches included). */
  async branches(): Promise<string[]> {
    const out = await git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/'], { cwd: this.url });
    return out.split('\n').filter(Boolean);
  }

  /** The commit a branch points at, or undefined when it does not exist. */
  async head(branch = 'main'): Promise<string | undefined> {
    const out = await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], {
      cwd: this.url,
    }).catch(() => '');
    return out.trim() || undefined;
  }

  async file(path: string, rev = 'main'): Promise<string> {
    return git(['show', `${rev}:${path}`], { cwd: this.url });
  }

  async diff(commit: string): Promise<string> {
    const diff = await git(['show', '--format=', '--unified=1', commit], { cwd: this.url });
    // The blob ids on the index line change with every fixture; the rest is what a reviewer sees.
    return diff.replace(/^index .*\n/m, '');
  }

  /** Points every deploy action of promote.yaml at one script (`SCRIPT ACTION ENV`), committed. */
  async deployThrough(script: string, message: string): Promise<string> {
    const actions = ['diff', 'apply', 'rollback', 'status']
      .map((action) => `  ${action}: ["${script}", "${action}", "{env}"]\n`)
      .join('');
    const config = (await this.file('promote.yaml')).replace(
      /deploy:[\s\S]*$/,
      `deploy:\n  type: command\n${actions}`,
    );
    return this.commitFile('promote.yaml', config, message);
  }

  /** Deploys through a script whose `diff` fails (exit 4, "the cluster refused the connection"), committed. */
  async deployWithFailingDiff(): Promise<void> {
    const script = join(this.root, 'deploy-failing-diff.sh');
    await writeFile(
      script,
      '#!/bin/sh\nif [ "$1" = diff ]; then echo "diff: the cluster refused the connection" >&2; exit 4; fi\necho "$1 $2 done"\n',
    );
    await chmod(script, 0o755);
    await this.deployThrough(script, 'chore: a diff that fails');
  }

  /** Commits a change straight to the branch, as a person or another tool would. */
  async commitFile(path: string, text: string, message: string): Promise<string> {
    const work = await mkdtemp(join(tmpdir(), 'promote-edit-'));
    try {
      await git(['clone', '--quiet', this.url, work], { cwd: this.root });
      await mkdir(join(work, path, '..'), { recursive: true });
      await writeFile(join(work, path), text);
      await git(['add', '--', path], { cwd: work });
      await git(
        [
          '-c',
          'user.name=Someone',
          '-c',
          'user.email=someone@example.com',
          'commit',
          '--quiet',
          '-m',
          message,
        ],
        {
          cwd: work,
        },
      );
      await git(['push', '--quiet', 'origin', 'HEAD:main'], { cwd: work });
      return (await git(['rev-parse', 'HEAD'], { cwd: work })).trim();
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Replaces `from` with `to` in a file on main and commits that, as a person fixing it by hand would. */
  async editFile(path: string, from: string, to: string, message: string): Promise<string> {
    const text = await this.file(path);
    if (!text.includes(from)) throw new Error(`${path} has no ${JSON.stringify(from)} to replace`);
    return this.commitFile(path, text.replace(from, to), message);
  }

  /** Merges a branch into main by hand (`git merge --no-ff`) and pushes, as a person outside Promote would. */
  async mergeByHand(branch: string): Promise<string> {
    const work = await mkdtemp(join(tmpdir(), 'promote-merge-'));
    try {
      await git(['clone', '--quiet', this.url, work], { cwd: this.root });
      const who = ['-c', 'user.name=Someone', '-c', 'user.email=someone@example.com'];
      await git([...who, 'merge', '--quiet', '--no-ff', '-m', `Merge ${branch}`, `origin/${branch}`], {
        cwd: work,
      });
      await git(['push', '--quiet', 'origin', 'HEAD:main'], { cwd: work });
      return (await git(['rev-parse', 'HEAD'], { cwd: work })).trim();
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Branch protection as a server does it: a pre-receive hook refusing any push that carries a revert. */
  async refuseReverts(): Promise<void> {
    const hook = join(this.url, 'hooks', 'pre-receive');
    const script = [
      '#!/bin/sh',
      'while read old new ref; do',
      '  if git log --format=%s "$old..$new" | grep -q "^revert("; then',
      '    echo "protected branch: reverts need a reviewed pull request" >&2',
      '    exit 1',
      '  fi',
      'done',
      '',
    ];
    await writeFile(hook, script.join('\n'));
    await chmod(hook, 0o755);
  }

  /** The values file the simulated cluster last applied for `env`, if any. */
  async live(env: string): Promise<string | undefined> {
    const path = join(this.cluster, `${env}.yaml`);
    return existsSync(path) ? readFile(path, 'utf8') : undefined;
  }

  async deployLog(): Promise<string[]> {
    const path = join(this.cluster, 'deploy.log');
    return existsSync(path) ? (await readFile(path, 'utf8')).trim().split('\n') : [];
  }

  /** SIGKILLs the running apply and everything it started, as a dying machine would. */
  async killApply(): Promise<void> {
    const pid = Number((await readFile(join(this.cluster, 'apply.pid'), 'utf8')).trim());
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      process.kill(pid, 'SIGKILL');
    }
  }

  async failApply(env: string, why: string): Promise<void> {
    await writeFile(join(this.cluster, `fail-apply-${env}`), why);
  }

  async remove(): Promise<void> {
    TestRepo.created.delete(this);
    await rm(this.root, { recursive: true, force: true });
  }

  /** Removes every repository a test created, whatever the test did. */
  static async removeAll(): Promise<void> {
    for (const repo of [...TestRepo.created]) await repo.remove();
  }
}
