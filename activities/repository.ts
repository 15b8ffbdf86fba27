import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { git, GitError, remoteFailure } from './git.js';
import { gitAuthConfig, type GitAuth } from './git-auth.js';
import { parseGitHubSpec } from '../common/repo-spec.js';
import { repositoryNotAllowed, type AllowedRepositories } from '../common/allowed-repositories.js';
import { GitHubError, GitHubRateLimitError, type GitHubRepository } from './providers/github.js';
import { KeyedMutex } from './keyed-mutex.js';
import { redact } from './redact.js';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../common/failures.js';

/** The largest file a promotion reads from the repository (values files; promote.yaml is capped lower). */
export const MAX_REPOSITORY_FILE_BYTES = 16 * 1024 * 1024;

export class RepositoryUnreachableError extends Error {
  override readonly name = 'RepositoryUnreachableError';
}

/** The worker's operators do not allow this repository (PROMOTE_ALLOWED_REPOSITORIES): nothing was fetched. */
export class RepositoryNotAllowedError extends Error {
  override readonly name = 'RepositoryNotAllowedError';
}

/**
 * Names the place the worker tried and what it tried, with git's own reason: its first `fatal:` line
 * ("… does not appear to be a git repository", "unable to access …"), or the line before git's generic
 * advice ("Host key verification failed."), not the advice itself.
 */
function unreachable(url: string, branch: string, stderr: string): RepositoryUnreachableError {
  const generic =
    /^(fatal: )?(Could not read from remote repository\.|Please make sure you have the correct access rights|and the repository exists\.)$/;
  const lines = stderr
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !generic.test(l));
  const reason = (lines.find((l) => l.startsWith('fatal:')) ?? lines[0] ?? '').replace(/^fatal:\s*/, '');
  const what = branch === 'HEAD' ? 'its default branch' : `branch ${branch}`;
  return new RepositoryUnreachableError(
    redact(`cannot read the repository ${url}: git fetch of ${what} failed: ${reason || 'no reason given'}`),
  );
}

/** Errors that mean the mirror itself is damaged (not the remote): it is cloned again. */
const CORRUPT_MIRROR =
  /not a git repository|bad config|corrupt|bad object|unable to read|missing (blob|tree|commit) |did not send all necessary objects|invalid sha1 pointer|broken link|bad ref|unable to parse|fatal: bad revision/i;

export type GitHubFactory = (spec: { owner: string; repo: string }) => GitHubRepository;

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
  /** Mirrors whose auth config this process has written. */
  private readonly configured = new Set<string>();

  private readonly gitHubRepos = new Map<string, GitHubRepository>();
  /** Branch names already checked by `git check-ref-format`: one spawn fewer on every later fetch. */
  private readonly validBranches = new Set<string>();

  constructor(
    readonly cacheDir: string,
    readonly identity: GitIdentity,
    readonly auth: GitAuth = {},
    /** Builds the API client for `github:owner/repo` repositories; absent when the worker has no GitHub credentials. */
    private readonly githubFactory?: GitHubFactory,
    /** The repositories this worker may touch; every fetch and API client checks it first. */
    readonly allowed: AllowedRepositories = { kind: 'any' },
  ) {}

  /** Refuses a repository the worker is not allowed, before any network access. */
  checkAllowed(url: string): void {
    const problem = repositoryNotAllowed(url, this.allowed);
    if (problem) throw new RepositoryNotAllowedError(redact(problem));
  }

  /**
   * The GitHub provider for a `github:owner/repo` repository (no clone: reads and commits go through
   * the API), or undefined for git remotes, which this cache mirrors.
   */
  gitHub(url: string): GitHubRepository | undefined {
    const spec = parseGitHubSpec(url);
    if (!spec) return undefined;
    this.checkAllowed(url);
    if (!this.githubFactory) {
      throw new RepositoryUnreachableError(
        `${url} is on GitHub, but this worker has no GitHub credentials: set GITHUB_TOKEN, or PROMOTE_GITHUB_APP_ID, PROMOTE_GITHUB_APP_PRIVATE_KEY and PROMOTE_GITHUB_INSTALLATION_ID`,
      );
    }
    const known = this.gitHubRepos.get(url) ?? this.githubFactory(spec);
    this.gitHubRepos.set(url, known);
    return known;
  }

  mirrorDir(url: string): string {
    const slug = url.replace(/[^A-Za-z0-9]+/g, '-').slice(-40);
    const digest = createHash('sha256').update(url).digest('hex').slice(0, 12);
    return join(this.cacheDir, `${slug}-${digest}.git`);
  }

  /**
   * Fetches `branch` into the mirror and returns its head commit. A damaged mirror (killed mid-write,
   * disk trouble) is removed and cloned again once; the remote being unreachable is reported as such.
   */
  async fetch(url: string, branch: string): Promise<string> {
    const github = this.gitHub(url);
    if (github) {
      return github.head(branch).catch((error: unknown) => {
        // A rate limit passes: it is GitHub asking to wait, not the repository refusing us.
        if (error instanceof GitHubError && !(error instanceof GitHubRateLimitError))
          throw new RepositoryUnreachableError(`cannot read branch ${branch}: ${error.message}`);
        throw error;
      });
    }
    this.checkAllowed(url);
    const dir = this.mirrorDir(url);
    return this.mutex.run(dir, async () => {
      try {
        return await this.fetchInto(dir, url, branch);
      } catch (error) {
        if (!(error instanceof GitError && CORRUPT_MIRROR.test(error.stderr))) throw error;
        await rm(dir, { recursive: true, force: true });
        this.configured.delete(dir);
        return await this.fetchInto(dir, url, branch);
      }
    });
  }

  private async fetchInto(dir: string, url: string, branch: string): Promise<string> {
    if (!existsSync(join(dir, 'HEAD'))) {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      await git(['init', '--quiet', '--bare'], { cwd: dir });
      await git(['remote', 'add', 'origin', url], { cwd: dir });
    }
    // Fails on a damaged HEAD or config before anything else is tried (GIT_DIR: never a parent repository).
    await git(['rev-parse', '--absolute-git-dir'], { cwd: dir, env: { GIT_DIR: dir } });
    if (!this.configured.has(dir)) {
      // No fetch refspec: fetches name theirs, and pushes from worktrees must not move the tracking
      // ref under a concurrent fetch (git would fail it with "cannot lock ref").
      // Every credential key goes, scoped ones too: the settings may have changed since the last run.
      const credentialKeys = await git(
        ['config', '--local', '--name-only', '--get-regexp', '^credential\\.'],
        {
          cwd: dir,
        },
      ).catch(() => '');
      const keys = new Set(['core.sshCommand', 'remote.origin.fetch', ...credentialKeys.split('\n')]);
      for (const key of [...keys].filter((k) => k !== '')) {
        await git(['config', '--local', '--unset-all', key], { cwd: dir }).catch(() => undefined);
      }
      for (const [key, value] of await gitAuthConfig(this.auth, this.cacheDir, url)) {
        await git(['config', '--local', '--add', key, value], { cwd: dir });
      }
      this.configured.add(dir);
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
      // Only what retrying cannot fix is reported as unreachable; a network blip is retried, and a
      // damaged mirror is cloned again by fetch().
      if (
        error instanceof GitError &&
        !CORRUPT_MIRROR.test(error.stderr) &&
        remoteFailure(error) !== 'transient'
      )
        throw unreachable(url, branch, error.stderr);
      throw error;
    }
    return (await git(['rev-parse', `refs/remotes/origin/${branch}`], { cwd: dir })).trim();
  }

  /**
   * Records a commit this worker just pushed as the branch head, as a fetch would (without the network
   * round trip): the commit is in the mirror already, and the next bump fetches anyway.
   */
  async pushed(url: string, branch: string, commit: string): Promise<void> {
    if (this.gitHub(url)) return;
    const dir = this.mirrorDir(url);
    await this.mutex.run(dir, () =>
      git(['update-ref', `refs/remotes/origin/${branch}`, commit], { cwd: dir }),
    );
  }

  /** Makes sure `commit` is in the mirror, fetching only when this worker has not seen it yet. */
  async ensureCommit(url: string, branch: string, commit: string): Promise<void> {
    if (this.gitHub(url)) return;
    const known = await git(['cat-file', '-e', `${commit}^{commit}`], { cwd: this.mirrorDir(url) }).then(
      () => true,
      () => false,
    );
    if (!known) await this.fetch(url, branch);
  }

  /**
   * A file's size in bytes at `commit` without reading it (undefined when it does not exist, or on
   * GitHub, whose API bounds what it returns). Lets a caller refuse a huge file before reading it.
   */
  async fileSize(url: string, commit: string, path: string): Promise<number | undefined> {
    if (this.gitHub(url)) return undefined;
    const size = await git(['cat-file', '-s', `${commit}:${path}`], { cwd: this.mirrorDir(url) }).catch(
      () => undefined,
    );
    return size === undefined ? undefined : Number(size.trim());
  }

  async readFile(url: string, commit: string, path: string): Promise<string | undefined> {
    const github = this.gitHub(url);
    if (github) return github.readFile(commit, path);
    // git's stdout is data, read whole; a file beyond the bound is refused before it is read.
    const size = await this.fileSize(url, commit, path);
    if (size !== undefined && size > MAX_REPOSITORY_FILE_BYTES) {
      throw ApplicationFailure.create({
        message: `${path} is too large to read (${size} bytes at ${commit.slice(0, 12)}; at most ${MAX_REPOSITORY_FILE_BYTES})`,
        type: FailureType.InvalidConfig,
        nonRetryable: true,
      });
    }
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
    const github = this.gitHub(url);
    if (github) return github.withCheckout(commit, this.cacheDir, work);
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
