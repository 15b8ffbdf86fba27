import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createAppAuth } from '@octokit/auth-app';
import Bottleneck from 'bottleneck';
import { Octokit, RequestError } from 'octokit';
import { runCommand } from '../command.js';
import type { ScalarChange } from '../formats/yaml-values.js';
import { redact, tail } from '../redact.js';

/** `repository: {provider: github, owner, repo, baseUrl?}` in promote.yaml. */
export interface GitHubRepositoryConfig {
  owner: string;
  repo: string;
  /** An enterprise server's API, e.g. https://ghe.example.com/api/v3. */
  baseUrl?: string;
}

export type GitHubAuth = { token: string } | { appId: string; privateKey: string; installationId: string };

export interface GitHubOptions {
  /** Author of commits made through the API (default: the token's or app's identity). */
  author?: { name: string; email: string };
  /** Attempts at a ref update that others keep beating (each re-reads and re-applies the edit). */
  maxAttempts?: number;
  /** How many times a rate-limited request is retried after GitHub's `retry-after`. */
  maxRateLimitRetries?: number;
  /** Milliseconds per second of `retry-after`: 1000 against GitHub; tests shorten the wait. */
  retryAfterUnitMs?: number;
  /**
   * The longest rate-limit wait sat out inside a request (default 60 s). A later reset (the hourly
   * budget spent) fails with GitHubRateLimitError, which says when to retry, instead of holding an
   * activity for up to an hour.
   */
  maxRateLimitWaitMs?: number;
  /** GitHub's recommended pacing of writes (one per second); off only against a local stand-in. */
  paceWrites?: boolean;
}

/** The worker's GitHub credentials: a token, or a GitHub App installation. */
export function gitHubAuthFromEnv(env: NodeJS.ProcessEnv = process.env): GitHubAuth | undefined {
  const { PROMOTE_GITHUB_APP_ID: appId, PROMOTE_GITHUB_APP_PRIVATE_KEY: privateKey } = env;
  const installationId = env.PROMOTE_GITHUB_INSTALLATION_ID;
  if (appId && privateKey && installationId) return { appId, privateKey, installationId };
  return env.GITHUB_TOKEN ? { token: env.GITHUB_TOKEN } : undefined;
}

export class GitHubError extends Error {
  override readonly name: string = 'GitHubError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** 401/403: the credentials are wrong or lack access; retrying will not help. */
export class GitHubAccessError extends GitHubError {
  override readonly name = 'GitHubAccessError';
}

/**
 * GitHub's rate limit (primary: the budget is spent until `x-ratelimit-reset`; secondary: `retry-after`)
 * outlasted what a request waits in place. Not an access problem: retrying after `retryAfterMs` works.
 */
export class GitHubRateLimitError extends GitHubError {
  override readonly name = 'GitHubRateLimitError';
  constructor(
    message: string,
    status: number,
    readonly retryAfterMs: number,
  ) {
    super(message, status);
  }
}

/** How long GitHub asks to wait when `error` is a rate-limit answer, else undefined. */
function rateLimitWaitMs(error: RequestError): number | undefined {
  if (error.status !== 403 && error.status !== 429) return undefined;
  const headers = error.response?.headers ?? {};
  const retryAfter = Number(headers['retry-after']);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter * 1000;
  if (headers['x-ratelimit-remaining'] === '0') {
    const reset = Number(headers['x-ratelimit-reset']) * 1000;
    return Math.max(0, reset - Date.now()) + 1000;
  }
  // A secondary limit without retry-after: GitHub asks for at least a minute.
  if (/secondary rate limit|rate limit exceeded/i.test(error.message)) return 60_000;
  return undefined;
}

/** The branch moved under every attempt to update it. */
export class GitHubConflictError extends GitHubError {
  override readonly name = 'GitHubConflictError';
}

/** A pull request's head is no longer the commit that was approved. */
export class ProposalChangedError extends GitHubError {
  override readonly name = 'ProposalChangedError';
}

/**
 * 405 for a reason other than conflicts: a branch protection rule, a ruleset, or a merge method the
 * repository disallows. Rebuilding the proposal cannot help: someone must change the rule or the setup.
 */
export class MergeRefusedError extends GitHubError {
  override readonly name = 'MergeRefusedError';
}

/** GitHub's 405 for a pull request whose branches conflict (or that is closed): a rebuild can fix it. */
const NOT_MERGEABLE = /not mergeable|merge conflict/i;

export interface FileEdit {
  branch: string;
  path: string;
  message: string;
  /** Computes the new text from the current one; no changes means no commit. */
  edit: (source: string) => { text: string; changes: ScalarChange[] };
}

export interface RepoCommit {
  sha: string;
  parents: string[];
  message: string;
}

/** A pull request review as GitHub's REST API reports it. */
export interface PullRequestReview {
  id: number;
  /** APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING. */
  state: string;
  /** The pull request head the review was given at. */
  commitId?: string;
  login?: string;
  body?: string;
  url?: string;
}

export interface PullRequestRef {
  number: number;
  url: string;
  headSha: string;
}

function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2_000, 50 * 2 ** attempt)));
}

/**
 * A deployment repository on GitHub, through octokit and the Git Data API: no clone. Each commit is
 * a blob, a tree on the head's tree, a commit and a non-forced ref update, so it is atomic; a
 * concurrent push makes the ref update fail (422), and the edit is re-read and re-applied on the
 * new head, a bounded number of times.
 */
export class GitHubRepository {
  private readonly octokit: Octokit;
  private readonly where: string;

  constructor(
    readonly config: GitHubRepositoryConfig,
    auth: GitHubAuth,
    private readonly options: GitHubOptions = {},
  ) {
    const retries = options.maxRateLimitRetries ?? 3;
    const unitMs = options.retryAfterUnitMs ?? 1_000;
    const maxWaitMs = options.maxRateLimitWaitMs ?? 60_000;
    // Waits GitHub asks for are sat out in place while short; a long one fails (GitHubRateLimitError).
    const waitInPlace = (after: number, count: number) => count < retries && after * unitMs <= maxWaitMs;
    this.where = `${config.owner}/${config.repo}`;
    this.octokit = new Octokit({
      ...(config.baseUrl ? { baseUrl: config.baseUrl } : {}),
      ...('token' in auth ? { auth: auth.token } : { authStrategy: createAppAuth, auth }),
      userAgent: 'promote',
      // 409 (merge head moved) and 422 (ref not a fast-forward) are answers, not glitches: never retried blindly.
      retry: { doNotRetry: [400, 401, 403, 404, 409, 410, 422, 451] },
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      throttle: {
        onRateLimit: (after: number, _options: unknown, _octokit: unknown, count: number) =>
          waitInPlace(after, count),
        onSecondaryRateLimit: (after: number, _options: unknown, _octokit: unknown, count: number) =>
          waitInPlace(after, count),
        retryAfterBaseValue: unitMs,
        ...(options.paceWrites === false
          ? { write: new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 }) }
          : {}),
      },
    });
    // The credentials go to the configured API only: a request for any other origin (a URL taken from
    // a response, say) is refused before it is sent.
    const origin = new URL(config.baseUrl ?? 'https://api.github.com').origin;
    this.octokit.hook.before('request', (request) => {
      const target = new URL(request.url, `${origin}/`).origin;
      if (target !== origin) throw new GitHubAccessError(`refusing to send GitHub credentials to ${target}`);
    });
  }

  private get repo() {
    return { owner: this.config.owner, repo: this.config.repo };
  }

  /** Maps HTTP failures to typed errors with messages that carry no credentials. */
  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      const detail = redact(`GitHub ${this.where}: ${what} failed (${error.status}): ${error.message}`);
      const waitMs = rateLimitWaitMs(error);
      if (waitMs !== undefined) {
        const until = new Date(Date.now() + waitMs).toISOString();
        throw new GitHubRateLimitError(
          `${detail} (rate limited; retry after ${until})`,
          error.status,
          waitMs,
        );
      }
      if (error.status === 401 || error.status === 403) throw new GitHubAccessError(detail, error.status);
      throw new GitHubError(detail, error.status);
    }
  }

  /** The branch's head commit; `HEAD` means the repository's default branch. */
  async head(branch: string): Promise<string> {
    const name =
      branch === 'HEAD'
        ? (await this.call('reading the repository', () => this.octokit.rest.repos.get(this.repo))).data
            .default_branch
        : branch;
    const ref = await this.call(`reading branch ${name}`, () =>
      this.octokit.rest.git.getRef({ ...this.repo, ref: `heads/${name}` }),
    );
    return ref.data.object.sha;
  }

  /** The file at `commit` (a SHA, branch, or `<sha>^` for its first parent); undefined when absent. */
  async readFile(commit: string, path: string): Promise<string | undefined> {
    if (commit.endsWith('^')) {
      const { data } = await this.call(`reading commit ${commit.slice(0, 12)}`, () =>
        this.octokit.rest.git.getCommit({ ...this.repo, commit_sha: commit.slice(0, -1) }),
      );
      const parent = data.parents[0]?.sha;
      return parent ? this.readFile(parent, path) : undefined;
    }
    try {
      const response = await this.call(`reading ${path} at ${commit.slice(0, 12)}`, () =>
        this.octokit.rest.repos.getContent({ ...this.repo, path, ref: commit }),
      );
      const data = response.data as { type?: string; content?: string; encoding?: string; sha?: string };
      if (data.type !== 'file' || data.content === undefined) return undefined;
      // Over 1 MB the contents API sends no content (`encoding: "none"`): the blob API has it all.
      if (data.encoding === 'none' && data.sha) return (await this.blob(data.sha, path)).toString('utf8');
      return Buffer.from(data.content, data.encoding === 'base64' ? 'base64' : 'utf8').toString('utf8');
    } catch (error) {
      if (error instanceof GitHubError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** A blob's bytes through the Git Data API (files up to GitHub's 100 MB). */
  private async blob(sha: string, path: string): Promise<Buffer> {
    const { data } = await this.call(`reading ${path}`, () =>
      this.octokit.rest.git.getBlob({ ...this.repo, file_sha: sha }),
    );
    return Buffer.from(data.content, data.encoding === 'base64' ? 'base64' : 'utf8');
  }

  /** Commits on the branch (optionally touching `path`), newest first. */
  async commits(branch: string, options: { path?: string; limit?: number } = {}): Promise<RepoCommit[]> {
    const limit = options.limit ?? 200;
    const out: RepoCommit[] = [];
    for await (const commit of this.eachCommit(branch, options)) {
      if (out.length >= limit) break;
      out.push(commit);
    }
    return out;
  }

  /** Commits on the branch, newest first, one page (100) at a time for as long as the caller reads. */
  async *eachCommit(branch: string, options: { path?: string } = {}): AsyncGenerator<RepoCommit> {
    for (let page = 1; ; page++) {
      const { data } = await this.call(`listing commits of ${branch}`, () =>
        this.octokit.rest.repos.listCommits({
          ...this.repo,
          sha: branch,
          per_page: 100,
          page,
          ...(options.path ? { path: options.path } : {}),
        }),
      );
      for (const c of data)
        yield { sha: c.sha, parents: c.parents.map((p) => p.sha), message: c.commit.message };
      if (data.length < 100) return;
    }
  }

  /**
   * Applies `edit` to the file at the branch head and moves the branch to the new commit without
   * force. A 422 (someone pushed in between) re-reads the head and re-applies the edit.
   */
  async commitFileEdit(
    input: FileEdit,
  ): Promise<{ commit: string; changes: ScalarChange[]; before: string }> {
    const attempts = this.options.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      const head = await this.head(input.branch);
      const before = await this.readFile(head, input.path);
      if (before === undefined)
        throw new GitHubError(`${this.where} has no ${input.path} on ${input.branch}`, 404);
      const { text, changes } = input.edit(before);
      if (changes.length === 0) return { commit: head, changes, before };
      const commit = await this.createCommit(head, input.path, text, input.message);
      try {
        await this.call(`updating ${input.branch}`, () =>
          this.octokit.rest.git.updateRef({
            ...this.repo,
            ref: `heads/${input.branch}`,
            sha: commit,
            force: false,
          }),
        );
        return { commit, changes, before };
      } catch (error) {
        if (!(error instanceof GitHubError && error.status === 422)) throw error;
        if (attempt >= attempts) {
          throw new GitHubConflictError(
            `GitHub ${this.where}: branch ${input.branch} moved before each of ${attempts} updates (others keep pushing); the edit was re-applied each time and is retried later`,
            422,
          );
        }
        await backoff(attempt);
      }
    }
  }

  /** A commit with one file changed on top of `parent` (blob, tree, commit): not on any branch yet. */
  async createCommit(parent: string, path: string, text: string, message: string): Promise<string> {
    const base = await this.call(`reading commit ${parent.slice(0, 12)}`, () =>
      this.octokit.rest.git.getCommit({ ...this.repo, commit_sha: parent }),
    );
    const blob = await this.call(`writing ${path}`, () =>
      this.octokit.rest.git.createBlob({ ...this.repo, content: text, encoding: 'utf-8' }),
    );
    const tree = await this.call('writing the tree', () =>
      this.octokit.rest.git.createTree({
        ...this.repo,
        base_tree: base.data.tree.sha,
        tree: [{ path, mode: '100644', type: 'blob', sha: blob.data.sha }],
      }),
    );
    const commit = await this.call('writing the commit', () =>
      this.octokit.rest.git.createCommit({
        ...this.repo,
        message,
        tree: tree.data.sha,
        parents: [parent],
        ...(this.options.author ? { author: this.options.author } : {}),
      }),
    );
    return commit.data.sha;
  }

  /**
   * Runs `work` in a directory holding the repository's files at `commit`, removed afterwards whatever
   * happens. One tarball of the commit, not a recursive tree and a request per blob: a tree listing is
   * cut (`truncated`) past 100,000 entries or 7 MB, and a request per file spends the rate limit on
   * a large repository. tar keeps modes (deploy scripts stay executable) and symlinks.
   */
  async withCheckout<T>(commit: string, parentDir: string, work: (dir: string) => Promise<T>): Promise<T> {
    await mkdir(parentDir, { recursive: true });
    const dir = await mkdtemp(join(parentDir, 'checkout-'));
    const archive = `${dir}.tar.gz`;
    try {
      const response = await this.call(`downloading the tarball of ${commit.slice(0, 12)}`, () =>
        this.octokit.rest.repos.downloadTarballArchive({
          ...this.repo,
          ref: commit,
          // Streamed to disk: a repository's tarball is not held in memory.
          request: { parseSuccessResponseBody: false },
        }),
      );
      const body = response.data as WebReadableStream<Uint8Array>;
      await pipeline(Readable.fromWeb(body), createWriteStream(archive));
      // GitHub's tarball has one top folder (owner-repo-sha/): its contents are the checkout.
      const result = await runCommand(['tar', '-xzf', archive, '--strip-components=1', '-C', dir], {
        cwd: parentDir,
      });
      if (result.exitCode !== 0)
        throw new GitHubError(
          redact(
            `GitHub ${this.where}: unpacking the tarball of ${commit.slice(0, 12)} failed: ${tail(result.failedToStart ?? result.stderr.trim(), 2000)}`,
          ),
        );
      return await work(dir);
    } finally {
      await rm(archive, { force: true });
      await rm(dir, { recursive: true, force: true });
    }
  }

  async createBranch(name: string, sha: string): Promise<void> {
    await this.call(`creating branch ${name}`, () =>
      this.octokit.rest.git.createRef({ ...this.repo, ref: `refs/heads/${name}`, sha }),
    );
  }

  /** Points a branch of our own at `sha`, creating it or moving it (forced: a rebuilt proposal replaces the old). */
  async setBranch(name: string, sha: string): Promise<void> {
    try {
      await this.createBranch(name, sha);
    } catch (error) {
      if (!(error instanceof GitHubError && error.status === 422)) throw error;
      await this.call(`moving branch ${name}`, () =>
        this.octokit.rest.git.updateRef({ ...this.repo, ref: `heads/${name}`, sha, force: true }),
      );
    }
  }

  /** A commit's parents and message. */
  async commitInfo(sha: string): Promise<RepoCommit> {
    const { data } = await this.call(`reading commit ${sha.slice(0, 12)}`, () =>
      this.octokit.rest.git.getCommit({ ...this.repo, commit_sha: sha }),
    );
    return { sha: data.sha, parents: data.parents.map((p) => p.sha), message: data.message };
  }

  /** The open pull request from `head` (a branch of this repository), if any. */
  async findPullRequest(head: string): Promise<PullRequestRef | undefined> {
    const { data } = await this.call(`listing pull requests from ${head}`, () =>
      this.octokit.rest.pulls.list({ ...this.repo, head: `${this.config.owner}:${head}`, state: 'open' }),
    );
    const found = data[0];
    return found ? { number: found.number, url: found.html_url, headSha: found.head.sha } : undefined;
  }

  /**
   * Branches whose names start with `prefix`, with their heads, at most `limit` (pages of 100): the
   * janitor's candidates for proposals left behind.
   */
  async branches(prefix: string, limit: number): Promise<{ name: string; sha: string }[]> {
    const found: { name: string; sha: string }[] = [];
    for (let page = 1; found.length < limit; page++) {
      const { data } = await this.call(`listing branches ${prefix}*`, () =>
        this.octokit.rest.git.listMatchingRefs({ ...this.repo, ref: `heads/${prefix}`, per_page: 100, page }),
      );
      for (const ref of data)
        found.push({ name: ref.ref.replace(/^refs\/heads\//, ''), sha: ref.object.sha });
      if (data.length < 100) break;
    }
    return found.slice(0, limit);
  }

  /** Open pull requests of this repository (head branch and SHA), at most `limit` (pages of 100). */
  async openPullRequests(limit: number): Promise<{ number: number; head: string; sha: string }[]> {
    const found: { number: number; head: string; sha: string }[] = [];
    for (let page = 1; found.length < limit; page++) {
      const { data } = await this.call('listing open pull requests', () =>
        this.octokit.rest.pulls.list({ ...this.repo, state: 'open', per_page: 100, page }),
      );
      for (const pull of data) found.push({ number: pull.number, head: pull.head.ref, sha: pull.head.sha });
      if (data.length < 100) break;
    }
    return found.slice(0, limit);
  }

  /** The merge commit of a pull request already merged (a retried landing), else undefined. */
  async pullRequestMerge(number: number): Promise<string | undefined> {
    const { data } = await this.call(`reading pull request #${number}`, () =>
      this.octokit.rest.pulls.get({ ...this.repo, pull_number: number }),
    );
    return data.merged && data.merge_commit_sha ? data.merge_commit_sha : undefined;
  }

  /** Closes the pull request with the reason unless it is closed already (a retried drop). */
  async closePullRequestIfOpen(number: number, reason: string): Promise<void> {
    const { data } = await this.call(`reading pull request #${number}`, () =>
      this.octokit.rest.pulls.get({ ...this.repo, pull_number: number }),
    );
    if (data.state === 'open') await this.closePullRequest(number, reason);
  }

  async deleteBranch(name: string): Promise<void> {
    await this.call(`deleting branch ${name}`, () =>
      this.octokit.rest.git.deleteRef({ ...this.repo, ref: `heads/${name}` }),
    );
  }

  async openPullRequest(input: {
    head: string;
    base: string;
    title: string;
    body: string;
  }): Promise<PullRequestRef> {
    // The body quotes the deploy diff: redacted again at the door, whatever produced it.
    const request = { ...input, title: redact(input.title), body: redact(input.body) };
    const { data } = await this.call(`opening a pull request from ${input.head}`, () =>
      this.octokit.rest.pulls.create({ ...this.repo, ...request }),
    );
    return { number: data.number, url: data.html_url, headSha: data.head.sha };
  }

  /**
   * Merges only if the pull request's head is still `expectedHeadSha` (what was approved); a
   * concurrent change fails with ProposalChangedError, and the proposal must be approved again.
   */
  async mergePullRequest(number: number, expectedHeadSha: string): Promise<string> {
    try {
      const { data } = await this.call(`merging pull request #${number}`, () =>
        this.octokit.rest.pulls.merge({ ...this.repo, pull_number: number, sha: expectedHeadSha }),
      );
      return data.sha;
    } catch (error) {
      if (error instanceof GitHubError && error.status === 409) {
        throw new ProposalChangedError(
          `pull request #${number} of ${this.where} changed since ${expectedHeadSha.slice(0, 12)} was approved: approve it again`,
          409,
        );
      }
      if (error instanceof GitHubError && error.status === 405 && !NOT_MERGEABLE.test(error.message)) {
        const kind = /merge commits|squash|rebase|merge method/i.test(error.message)
          ? 'the repository disallows the merge method'
          : 'a protection rule of the base branch';
        throw new MergeRefusedError(
          `GitHub refuses to merge pull request #${number} of ${this.where} (${kind}): ${error.message}`,
          405,
        );
      }
      throw error;
    }
  }

  /** One review of pull request `number`; undefined when GitHub has no such review on it (404). */
  async pullRequestReview(number: number, id: number): Promise<PullRequestReview | undefined> {
    try {
      const { data } = await this.call(`reading review ${id} of pull request #${number}`, () =>
        this.octokit.rest.pulls.getReview({ ...this.repo, pull_number: number, review_id: id }),
      );
      return reviewOf(data);
    } catch (error) {
      if (error instanceof GitHubError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Every review of pull request `number`, oldest first (all pages). */
  async pullRequestReviews(number: number): Promise<PullRequestReview[]> {
    const data = await this.call(`listing reviews of pull request #${number}`, () =>
      this.octokit.paginate(this.octokit.rest.pulls.listReviews, {
        ...this.repo,
        pull_number: number,
        per_page: 100,
      }),
    );
    return data.map(reviewOf);
  }

  /** Closes a pull request, leaving the reason as a comment. */
  async closePullRequest(number: number, reason: string): Promise<void> {
    await this.call(`commenting on pull request #${number}`, () =>
      this.octokit.rest.issues.createComment({ ...this.repo, issue_number: number, body: redact(reason) }),
    );
    await this.call(`closing pull request #${number}`, () =>
      this.octokit.rest.pulls.update({ ...this.repo, pull_number: number, state: 'closed' }),
    );
  }
}

function reviewOf(data: {
  id: number;
  state: string;
  commit_id: string | null;
  user: { login: string } | null;
  body?: string | null;
  html_url?: string;
}): PullRequestReview {
  return {
    id: data.id,
    state: data.state,
    ...(data.commit_id ? { commitId: data.commit_id } : {}),
    ...(data.user?.login ? { login: data.user.login } : {}),
    ...(data.body ? { body: data.body } : {}),
    ...(data.html_url ? { url: data.html_url } : {}),
  };
}
