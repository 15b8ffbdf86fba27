import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { git, GitError, remoteFailure } from './git.js';
import { KeyedMutex } from './keyed-mutex.js';
import { redact } from './redact.js';

export class RepositoryUnreachableError extends Error {
  override readonly name = 'RepositoryUnreachableError';
}

/**
 * Names the place the worker tried and what it tried, with git's own reason: its first `fatal:` line
 * ("… does not appear to be a git repository", "unable to access …"), not the generic advice after it.
 */
function unreachable(url: string, branch: string, stderr: string): RepositoryUnreachableError {
  const lines = stderr.trim().split('\n');
  const reason = (lines.find((l) => l.startsWith('fatal:')) ?? lines.at(-1) ?? '').replace(/^fatal:\s*/, '');
  const what = branch === 'HEAD' ? 'its default branch' : `branch ${branch}`;
  return new RepositoryUnreachableError(
    redact(`cannot read the repository ${url}: git fetch of ${what} failed: ${reason || 'no reason given'}`),
  );
}

export interface GitIdentity {
  name: string;
  email: string;
}

/**
 * A worker's cache of deployment repositories: one bare mirror per URL, fetched (not cloned) per
 * promotion, with a throw-away worktree for every edit or deploy so concurrent activities never share
 * a working directory.
 */
export class RepositoryCache {
  private readonly mutex = new KeyedMutex();
  /** Branch names already checked by `git check-ref-format`: one spawn fewer on every later fetch. */
  private readonly validBranches = new Set<string>();

  constructor(
    readonly cacheDir: string,
    readonly identity: GitIdentity,
  ) {}

  mirrorDir(url: string): string {
    const slug = url.replace(/[^A-Za-z0-9]+/g, '-').slice(-40);
    const digest = createHash('sha256').update(url).digest('hex').slice(0, 12);
    return join(this.cacheDir, `${slug}-${digest}.git`);
  }

  /** Fetches `branch` into the mirror and returns its head commit. */
  async fetch(url: string, branch: string): Promise<string> {
    const dir = this.mirrorDir(url);
    return this.mutex.run(dir, async () => {
      if (!existsSync(join(dir, 'HEAD'))) {
        await mkdir(dir, { recursive: true });
        await git(['init', '--quiet', '--bare'], { cwd: dir });
        await git(['remote', 'add', 'origin', url], { cwd: dir });
      }
      // HEAD means the remote's default branch, used before promote.yaml has named one.
      const source = branch === 'HEAD' ? 'HEAD' : `refs/heads/${branch}`;
      if (branch !== 'HEAD' && !this.validBranches.has(branch)) {
        await git(['check-ref-format', '--branch', branch], { cwd: dir }).catch(() => {
          throw new RepositoryUnreachableError(`invalid branch name ${JSON.stringify(branch)}`);
        });
        this.validBranches.add(branch);
      }
      try {
        await git(['fetch', '--quiet', '--prune', 'origin', `+${source}:refs/remotes/origin/${branch}`], {
          cwd: dir,
        });
      } catch (error) {
        // Only what retrying cannot fix is reported as unreachable; a network blip is retried.
        if (error instanceof GitError && remoteFailure(error) !== 'transient')
          throw unreachable(url, branch, error.stderr);
        throw error;
      }
      return (await git(['rev-parse', `refs/remotes/origin/${branch}`], { cwd: dir })).trim();
    });
  }

  /**
   * Records a commit this worker just pushed as the branch head, as a fetch would (without the network
   * round trip): the commit is in the mirror already, and the next bump fetches anyway.
   */
  async pushed(url: string, branch: string, commit: string): Promise<void> {
    const dir = this.mirrorDir(url);
    await this.mutex.run(dir, () =>
      git(['update-ref', `refs/remotes/origin/${branch}`, commit], { cwd: dir }),
    );
  }

  /** Makes sure `commit` is in the mirror, fetching only when this worker has not seen it yet. */
  async ensureCommit(url: string, branch: string, commit: string): Promise<void> {
    const known = await git(['cat-file', '-e', `${commit}^{commit}`], { cwd: this.mirrorDir(url) }).then(
      () => true,
      () => false,
    );
    if (!known) await this.fetch(url, branch);
  }

  async readFile(url: string, commit: string, path: string): Promise<string | undefined> {
    try {
      return await git(['show', `${commit}:${path}`], { cwd: this.mirrorDir(url) });
    } catch (error) {
      if (
        error instanceof GitError &&
        /does not exist|exists on disk, but not in|invalid object name|unknown revision|bad revision/.test(
          error.stderr,
        )
      )
        return undefined;
      throw error;
    }
  }

  async git(url: string, args: readonly string[]): Promise<string> {
    return git(args, { cwd: this.mirrorDir(url) });
  }

  /**
   * Runs `work` in a fresh detached worktree at `commit`, removed afterwards whatever happens. With
   * `checkout: false` only the index is filled, no file is written: a commit of one file then costs the
   * same on a repository of 500 files as on one of 5.
   */
  async withWorktree<T>(
    url: string,
    commit: string,
    work: (dir: string) => Promise<T>,
    options: { checkout?: boolean } = {},
  ): Promise<T> {
    const mirror = this.mirrorDir(url);
    await mkdir(this.cacheDir, { recursive: true });
    const dir = await mkdtemp(join(this.cacheDir, 'worktree-'));
    const noCheckout = options.checkout === false ? ['--no-checkout'] : [];
    await this.mutex.run(mirror, () =>
      git(['worktree', 'add', '--quiet', '--detach', ...noCheckout, dir, commit], { cwd: mirror }),
    );
    // Without a checkout the index starts empty: fill it from the commit, or a commit would delete every file.
    if (noCheckout.length > 0) await git(['read-tree', commit], { cwd: dir });
    try {
      return await work(dir);
    } finally {
      // Not awaited: the activity's result does not depend on the clean-up, so the next step need not
      // wait for it. The mutex still orders it before the mirror's next worktree operation.
      void this.mutex
        .run(mirror, () => git(['worktree', 'remove', '--force', dir], { cwd: mirror }))
        .catch(() => rm(dir, { recursive: true, force: true }))
        .catch(() => undefined);
    }
  }

  /** git config for commits made by promotions: an explicit identity, never the machine user's. */
  identityArgs(): string[] {
    return ['-c', `user.name=${this.identity.name}`, '-c', `user.email=${this.identity.email}`];
  }
}
