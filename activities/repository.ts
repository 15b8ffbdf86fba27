import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { gitPush, git, GitError, remoteFailure } from './git.js';
import { gitAuthConfig, type GitAuth } from './git-auth.js';
import { parseGitHubSpec } from '../common/repo-spec.js';
import { repositoryNotAllowed, type AllowedRepositories } from '../common/allowed-repositories.js';
import { GitHubError, GitHubRateLimitError, type GitHubRepository } from './providers/github.js';
import { KeyedMutex } from './keyed-mutex.js';
import { OutputTooLargeError } from './command.js';
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

/** What `git worktree add` says about a commit the mirror does not hold. */
const UNKNOWN_COMMIT = /invalid reference|not a valid object name|unknown revision|bad object/i;

/** Removed worktrees whose administrative entries are pruned together (see discardWorktree). */
const PRUNE_EVERY = 16;

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

  /** The branch each repository's promote.yaml named when last read (see follow). */
  private readonly followed = new Map<string, string>();

  /** Remembers the branch promote.yaml names, so the next load fetches it together with HEAD. */
  follow(url: string, branch: string): void {
    if (!this.gitHub(url)) this.followed.set(url, branch);
  }

  followedBranch(url: string): string | undefined {
    return this.followed.get(url);
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
    return (await this.fetchHeads(url, [branch]))[0]!;
  }

  /**
   * `fetch` of several branches in one git process (one round trip to the remote): their heads, in
   * the order asked. Fails as a whole when any branch cannot be fetched.
   */
  async fetchHeads(url: string, branches: readonly string[]): Promise<string[]> {
    const github = this.gitHub(url);
    if (github) {
      const heads: string[] = [];
      for (const branch of branches) {
        heads.push(
          await github.head(branch).catch((error: unknown) => {
            // A rate limit passes: it is GitHub asking to wait, not the repository refusing us.
            if (error instanceof GitHubError && !(error instanceof GitHubRateLimitError))
              throw new RepositoryUnreachableError(`cannot read branch ${branch}: ${error.message}`);
            throw error;
          }),
        );
      }
      return heads;
    }
    this.checkAllowed(url);
    const dir = this.mirrorDir(url);
    return this.mutex.run(dir, async () => {
      try {
        return await this.fetchInto(dir, url, branches);
      } catch (error) {
        if (!(error instanceof GitError && CORRUPT_MIRROR.test(error.stderr))) throw error;
        await rm(dir, { recursive: true, force: true });
        this.configured.delete(dir);
        return await this.fetchInto(dir, url, branches);
      }
    });
  }

  private async fetchInto(dir: string, url: string, branches: readonly string[]): Promise<string[]> {
    if (!existsSync(join(dir, 'HEAD'))) {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      await git(['init', '--quiet', '--bare'], { cwd: dir });
      await git(['remote', 'add', 'origin', url], { cwd: dir });
    }
    // GIT_DIR on every command of a mirror that may be damaged: git then fails on a bad HEAD or config
    // ("not a git repository", "bad config"; the mirror is cloned again) instead of walking up to a
    // parent repository.
    const env = { GIT_DIR: dir };
    if (!this.configured.has(dir)) await this.configure(dir, url);
    for (const branch of branches) {
      if (branch === 'HEAD' || this.validBranches.has(branch)) continue;
      await git(['check-ref-format', '--branch', branch], { cwd: dir }).catch(() => {
        throw new RepositoryUnreachableError(`invalid branch name ${JSON.stringify(branch)}`);
      });
      this.validBranches.add(branch);
    }
    // HEAD means the remote's default branch, used before promote.yaml has named one.
    const refspecs = branches.map(
      (branch) => `+${branch === 'HEAD' ? 'HEAD' : `refs/heads/${branch}`}:refs/remotes/origin/${branch}`,
    );
    try {
      await git(['fetch', '--quiet', '--prune', 'origin', ...refspecs], { cwd: dir, env });
    } catch (error) {
      // Only what retrying cannot fix is reported as unreachable; a network blip is retried, and a
      // damaged mirror is cloned again by fetch().
      if (
        error instanceof GitError &&
        !CORRUPT_MIRROR.test(error.stderr) &&
        remoteFailure(error) !== 'transient'
      )
        throw unreachable(url, branches[branches.length - 1]!, error.stderr);
      throw error;
    }
    return this.fetchedHeads(dir, branches);
  }

  /**
   * The heads a fetch just wrote, from its FETCH_HEAD (one line per refspec, in order; the mutex keeps
   * other fetches of this mirror out): no `rev-parse` process. git's own answer if the file says otherwise.
   */
  private async fetchedHeads(dir: string, branches: readonly string[]): Promise<string[]> {
    const lines = await readFile(join(dir, 'FETCH_HEAD'), 'utf8').then(
      (text) => text.split('\n').filter((line) => line !== ''),
      () => [],
    );
    const heads = lines.map((line) => /^([0-9a-f]{40,64})\t/.exec(line)?.[1]);
    if (heads.length === branches.length && heads.every((h) => h !== undefined)) return heads;
    const out = await git(['rev-parse', ...branches.map((b) => `refs/remotes/origin/${b}`)], { cwd: dir });
    return out.trim().split('\n');
  }

  /**
   * Writes the mirror's credentials once per process. No fetch refspec: fetches name theirs, and a push
   * must not move the tracking ref under a concurrent fetch (git would fail it with "cannot lock ref").
   * Every credential key goes, scoped ones too: the settings may have changed since the last run.
   */
  private async configure(dir: string, url: string): Promise<void> {
    const env = { GIT_DIR: dir };
    const credentialKeys = await git(['config', '--local', '--name-only', '--get-regexp', '^credential\\.'], {
      cwd: dir,
      env,
    }).catch((error: unknown) => {
      // Exit 1 is "no such key"; a damaged config must fail here, so the mirror is cloned again.
      if (error instanceof GitError && CORRUPT_MIRROR.test(error.stderr)) throw error;
      return '';
    });
    const keys = new Set(['core.sshCommand', 'remote.origin.fetch', ...credentialKeys.split('\n')]);
    for (const key of [...keys].filter((k) => k !== '')) {
      await git(['config', '--local', '--unset-all', key], { cwd: dir, env }).catch(() => undefined);
    }
    for (const [key, value] of await gitAuthConfig(this.auth, this.cacheDir, url)) {
      await git(['config', '--local', '--add', key, value], { cwd: dir, env });
    }
    this.configured.add(dir);
  }

  /**
   * Records a commit this worker just pushed as the branch head, as a fetch would (without the network
   * round trip): the commit is in the mirror already, and the next bump fetches anyway. The scratch ref
   * that held the commit until the push (see commitFile) goes in the same git process.
   */
  async pushed(url: string, branch: string, commit: string, scratchRef?: string): Promise<void> {
    if (this.gitHub(url)) return;
    const dir = this.mirrorDir(url);
    const drop = scratchRef ? `delete ${scratchRef}\n` : '';
    await this.mutex.run(dir, () =>
      git(['update-ref', '--stdin'], {
        cwd: dir,
        input: `update refs/remotes/origin/${branch} ${commit}\n${drop}`,
      }),
    );
  }

  /** Forgets a scratch ref whose commit was not pushed (see commitFile). */
  async dropRef(url: string, ref: string): Promise<void> {
    if (this.gitHub(url)) return;
    await git(['update-ref', '-d', ref], { cwd: this.mirrorDir(url) }).catch(() => undefined);
  }

  /**
   * A commit of one file on top of `parent`, built in the mirror by a single `git fast-import` stream
   * (no worktree, index, add, commit or rev-parse processes): the file's new content is written as is
   * (mode 100644, as a commit of the written file would record it), everything else is the parent's
   * tree. The commit is held by a scratch ref until it is pushed (pushed() or dropRef() removes it), so
   * no gc can take it meanwhile. Returns the commit and that ref.
   */
  async commitFile(
    url: string,
    parent: string,
    path: string,
    text: string,
    message: string,
  ): Promise<{ commit: string; ref: string }> {
    const ref = `refs/promote/pending/${randomUUID()}`;
    const who = `${identityPart(this.identity.name)} <${identityPart(this.identity.email)}>`;
    const when = `${Math.floor(Date.now() / 1000)} +0000`;
    const data = (body: string) => `data ${Buffer.byteLength(body, 'utf8')}\n${body}\n`;
    const stream = [
      'feature done\n',
      `commit ${ref}\nmark :1\n`,
      `author ${who} ${when}\ncommitter ${who} ${when}\n`,
      data(cleanMessage(message)),
      `from ${parent}\n`,
      `M 100644 inline ${quotePath(normalizeRepoPath(path))}\n`,
      data(text),
      'get-mark :1\ndone\n',
    ].join('');
    const out = await git(['fast-import', '--quiet', '--done'], { cwd: this.mirrorDir(url), input: stream });
    const commit = out.trim();
    if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new Error(`git fast-import gave no commit: ${redact(out)}`);
    return { commit, ref };
  }

  /**
   * Makes sure `commit` is in the mirror, fetching only when this worker has not seen it yet. Callers
   * that go on to make a worktree need not call it: withWorktree fetches when the commit is unknown.
   */
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
    const blob = await this.readBlob(url, commit, path, MAX_REPOSITORY_FILE_BYTES);
    if (typeof blob === 'object') {
      throw ApplicationFailure.create({
        message: `${path} is too large to read (${blob.tooLarge} bytes at ${commit.slice(0, 12)}; at most ${MAX_REPOSITORY_FILE_BYTES})`,
        type: FailureType.InvalidConfig,
        nonRetryable: true,
      });
    }
    return blob;
  }

  /**
   * One file at `commit` in one git process (`cat-file --batch`): its text whole, undefined when it
   * does not exist, or its size when it is larger than `maxBytes`. git is stopped as soon as its output
   * passes the bound, so a huge file is never read whole; its size is then asked for separately.
   */
  async readBlob(
    url: string,
    commit: string,
    path: string,
    maxBytes: number,
  ): Promise<string | undefined | { tooLarge: number }> {
    const github = this.gitHub(url);
    if (github) return github.readFile(commit, path);
    const spec = `${commit}:${path}`;
    // A name with a line break cannot be one line of --batch input: the two-step read takes it.
    if (/[\r\n]/.test(spec)) return this.readBlobByShow(url, commit, path, maxBytes);
    let out: string;
    try {
      out = await git(['cat-file', '--batch'], {
        cwd: this.mirrorDir(url),
        input: `${spec}\n`,
        // The header line and the final newline on top of the content.
        maxDataBytes: maxBytes + Buffer.byteLength(spec) + 160,
      });
    } catch (error) {
      if (!(error instanceof OutputTooLargeError)) throw error;
      return { tooLarge: (await this.fileSize(url, commit, path)) ?? maxBytes + 1 };
    }
    const headerEnd = out.indexOf('\n');
    const header = (headerEnd < 0 ? out : out.slice(0, headerEnd)).split(' ');
    // `<name> missing` (no such commit or path), `<name> ambiguous`, or a tree where a file was asked.
    if (header[1] !== 'blob' || header.length !== 3) return undefined;
    const size = Number(header[2]);
    if (size > maxBytes) return { tooLarge: size };
    return out.slice(headerEnd + 1, out.length - 1);
  }

  private async readBlobByShow(
    url: string,
    commit: string,
    path: string,
    maxBytes: number,
  ): Promise<string | undefined | { tooLarge: number }> {
    const size = await this.fileSize(url, commit, path);
    if (size !== undefined && size > maxBytes) return { tooLarge: size };
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
    // A push from an activity is guarded by its cancellation (see gitPush); other commands are local.
    return args[0] === 'push'
      ? gitPush(args, { cwd: this.mirrorDir(url) })
      : git(args, { cwd: this.mirrorDir(url) });
  }

  /**
   * Runs `work` in a fresh detached worktree at `commit`, removed afterwards whatever happens. With
   * `checkout: false` only the index is filled, no file is written. With `branch`, a commit this mirror
   * does not hold yet (or a mirror not cloned yet) is fetched first (found out by the worktree's own
   * failure: no look-up beforehand).
   */
  async withWorktree<T>(
    url: string,
    commit: string,
    work: (dir: string) => Promise<T>,
    options: { checkout?: boolean; branch?: string } = {},
  ): Promise<T> {
    const github = this.gitHub(url);
    if (github) return github.withCheckout(commit, this.cacheDir, work);
    const mirror = this.mirrorDir(url);
    await mkdir(this.cacheDir, { recursive: true });
    const dir = await mkdtemp(join(this.cacheDir, 'worktree-'));
    const noCheckout = options.checkout === false ? ['--no-checkout'] : [];
    const add = () =>
      this.mutex.run(mirror, () =>
        git(['worktree', 'add', '--quiet', '--detach', ...noCheckout, dir, commit], { cwd: mirror }),
      );
    try {
      await add().catch(async (error: unknown) => {
        // A worker that never read this repository (a restarted worker's empty cache, another worker of
        // the pool) has no mirror yet: the fetch clones it.
        const unknown =
          error instanceof GitError &&
          (UNKNOWN_COMMIT.test(error.stderr) || !existsSync(join(mirror, 'HEAD')));
        if (!(options.branch && unknown)) throw error;
        await this.fetch(url, options.branch);
        await add();
      });
      // Without a checkout the index starts empty: fill it from the commit, or a commit would delete every file.
      if (noCheckout.length > 0) await git(['read-tree', commit], { cwd: dir });
      return await work(dir);
    } finally {
      this.discardWorktree(mirror, dir);
    }
  }

  /** Worktrees removed since the mirror's administrative entries were last pruned, per mirror. */
  private readonly unpruned = new Map<string, number>();

  /**
   * Removes a worktree off the critical path: its directory goes at once (no git process), and git's
   * entries for removed worktrees are pruned in one `git worktree prune` every PRUNE_EVERY removals.
   * The mutex orders the prune before the mirror's next worktree operation.
   */
  private discardWorktree(mirror: string, dir: string): void {
    const count = (this.unpruned.get(mirror) ?? 0) + 1;
    this.unpruned.set(mirror, count % PRUNE_EVERY);
    void rm(dir, { recursive: true, force: true })
      .then(() =>
        count >= PRUNE_EVERY
          ? this.mutex.run(mirror, () => git(['worktree', 'prune'], { cwd: mirror }))
          : undefined,
      )
      .catch(() => undefined);
  }

  /** git config for commits made by promotions: an explicit identity, never the machine user's. */
  identityArgs(): string[] {
    return ['-c', `user.name=${this.identity.name}`, '-c', `user.email=${this.identity.email}`];
  }
}

/** A name or e-mail as a commit header carries it: no angle brackets or line breaks (git strips them too). */
function identityPart(value: string): string {
  return value.replace(/[<>\r\n]/g, '').trim();
}

/** A path inside the repository as git stores it: `a/b.yaml`, never `./a/b.yaml`, absolute or outside. */
export function normalizeRepoPath(path: string): string {
  const normal = posix.normalize(path).replace(/^(\.\/)+/, '');
  if (normal === '' || normal === '.' || normal.startsWith('/') || normal.startsWith('../'))
    throw new Error(`${JSON.stringify(path)} is not a path inside the repository`);
  return normal;
}

/** fast-import's C-style quoting, so any name (spaces, quotes, line breaks) stays one path. */
function quotePath(path: string): string {
  return `"${path.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * A commit message as `git commit -F` would store it (its "whitespace" clean-up): no trailing spaces,
 * no leading or trailing blank lines, runs of blank lines as one, one final newline.
 */
export function cleanMessage(message: string): string {
  const lines = message.split('\n').map((line) => line.replace(/\s+$/, ''));
  const kept = lines.filter((line, i) => line !== '' || (i > 0 && lines[i - 1] !== ''));
  while (kept[0] === '') kept.shift();
  while (kept[kept.length - 1] === '') kept.pop();
  return `${kept.join('\n')}\n`;
}
