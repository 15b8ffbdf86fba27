import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHmac, createPublicKey, createVerify, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git, GitError } from '../../activities/git.js';

/**
 * GitHub's documented limits at size. Tests may lower one to reach it quickly; the defaults are GitHub's.
 */
export interface GitHubLimits {
  /** A recursive tree lists at most this many entries, then says `truncated: true`. */
  treeEntries: number;
  /** …or at most this many bytes of entries. */
  treeBytes: number;
  /** The contents API inlines files up to this size; larger ones come with `encoding: "none"`. */
  contentsInline: number;
  /** Files (contents and blobs APIs) larger than this are refused (403 too_large). */
  apiMaxFile: number;
  /** Primary rate limit: requests per window per token, with x-ratelimit-* headers on every answer. */
  requestsPerWindow: number;
  windowMs: number;
  /** Secondary rate limit: content-creating requests (POST/PATCH/PUT/DELETE) per minute. */
  writesPerMinute: number;
}

export const GITHUB_LIMITS: GitHubLimits = {
  treeEntries: 100_000,
  treeBytes: 7 * 1024 * 1024,
  contentsInline: 1024 * 1024,
  apiMaxFile: 100 * 1024 * 1024,
  requestsPerWindow: 5_000,
  windowMs: 3_600_000,
  writesPerMinute: 80,
};

/** A response to return instead of the real one, once, for the next matching request. */
export interface Fault {
  method: string;
  path: RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface PullRequest {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  state: 'open' | 'closed';
  merged: boolean;
  mergeCommit?: string;
  lastHead?: string;
  comments: string[];
  reviews: Review[];
}

/** A pull request review as GitHub keeps it: REST states are upper-case, webhook payloads lower-case. */
export interface Review {
  id: number;
  login: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';
  commitId: string;
  body: string;
  submittedAt: string;
}

/**
 * A local stand-in for the GitHub REST API endpoints Promote uses, with GitHub's semantics, backed by a
 * real bare git repository: blobs, trees, commits and refs are real git objects, a ref update that is
 * not a fast-forward is refused with 422, merging a pull request with a stale head SHA gives 409, a
 * bad token 401, a token without access 403, unknown things 404. At size it fails as GitHub does
 * (GITHUB_LIMITS): a recursive tree past 100,000 entries or 7 MB is cut and says `truncated`, the
 * contents API gives files over 1 MB with empty `content` and `encoding: "none"`, every answer carries
 * x-ratelimit-* headers and an exhausted budget is a 403 with `x-ratelimit-remaining: 0`, and too many
 * writes a minute a secondary rate limit with `retry-after`. Faults can be queued to answer the next
 * matching request differently.
 */
export class GitHubStandIn {
  readonly requests: { method: string; path: string; authorization: string }[] = [];
  readonly pulls = new Map<number, PullRequest>();
  /** Review ids are unique across the installation, as GitHub's are (large, not per pull request). */
  private nextReviewId = 80_000_001;
  private readonly faults: Fault[] = [];
  /**
   * A branch protection or ruleset refusing every merge into the base branch, answered as GitHub does:
   * 405 with the rule's message (e.g. "Merge commits are not allowed on this repository.").
   */
  mergeRule?: string;
  /** Runs before a ref update is applied: lets a test push in between, as another client would. */
  beforeRefUpdate?: () => Promise<void>;
  private appKey?: { appId: string; installationId: string; publicKey: KeyObject };
  readonly limits: GitHubLimits;
  private window = { start: Date.now(), used: 0 };
  private writes: number[] = [];
  /** Rate-limit answers given so far, primary and secondary. */
  readonly rateLimited = { primary: 0, secondary: 0 };

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
    readonly repoPath: string,
    readonly owner: string,
    readonly repo: string,
    readonly tokens: { valid: string; readOnly?: string },
    private readonly scratch: string,
    limits: Partial<GitHubLimits> = {},
  ) {
    this.limits = { ...GITHUB_LIMITS, ...limits };
  }

  /** Starts a new primary rate-limit window now, `used` requests already spent (a busy token). */
  setRateLimitUsed(used: number, windowMs = this.limits.windowMs): void {
    this.limits.windowMs = windowMs;
    this.window = { start: Date.now(), used };
  }

  static async start(options: {
    repoPath: string;
    owner?: string;
    repo?: string;
    token: string;
    readOnlyToken?: string;
    limits?: Partial<GitHubLimits>;
  }): Promise<GitHubStandIn> {
    const scratch = await mkdtemp(join(tmpdir(), 'promote-github-'));
    const holder: { self?: GitHubStandIn } = {};
    const server = createServer((req, res) => {
      void holder.self?.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, { message: String(error) });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const self = new GitHubStandIn(
      server,
      `http://127.0.0.1:${port}/api/v3`,
      options.repoPath,
      options.owner ?? 'shop',
      options.repo ?? 'deployment',
      { valid: options.token, ...(options.readOnlyToken ? { readOnly: options.readOnlyToken } : {}) },
      scratch,
      options.limits,
    );
    holder.self = self;
    return self;
  }

  /** Accepts GitHub App JWTs signed by this key and exchanges them for `tokens.valid`. */
  installApp(appId: string, installationId: string, publicKeyPem: string): void {
    this.appKey = { appId, installationId, publicKey: createPublicKey(publicKeyPem) };
  }

  failNext(fault: Fault): void {
    this.faults.push(fault);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    await rm(this.scratch, { recursive: true, force: true });
  }

  private git(args: string[], env?: Record<string, string>, input?: string): Promise<string> {
    return git(args, {
      cwd: this.repoPath,
      ...(env ? { env } : {}),
      ...(input !== undefined ? { input } : {}),
    });
  }

  /** Blob bytes as git stores them: never decoded, so binary and multi-byte files come back exact. */
  private gitBytes(args: string[]): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        args,
        { cwd: this.repoPath, encoding: 'buffer', maxBuffer: 2 * this.limits.apiMaxFile + 1024 * 1024 },
        (error, stdout) => (error ? reject(new Error(error.message)) : resolve(stdout)),
      );
    });
  }

  /**
   * GitHub's rate limits: the primary budget per window (headers on every answer, a 403 when spent)
   * and the secondary limit on content-creating requests (a 403 with `retry-after`).
   */
  private rateLimit(res: ServerResponse, method: string): boolean {
    const now = Date.now();
    if (now >= this.window.start + this.limits.windowMs) this.window = { start: now, used: 0 };
    const reset = Math.ceil((this.window.start + this.limits.windowMs) / 1000);
    const exhausted = this.window.used >= this.limits.requestsPerWindow;
    if (!exhausted) this.window.used++;
    const headers = {
      'x-ratelimit-limit': String(this.limits.requestsPerWindow),
      'x-ratelimit-remaining': String(this.limits.requestsPerWindow - this.window.used),
      'x-ratelimit-used': String(this.window.used),
      'x-ratelimit-reset': String(reset),
      'x-ratelimit-resource': 'core',
    };
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    if (exhausted) {
      this.rateLimited.primary++;
      send(res, 403, {
        message: 'API rate limit exceeded for installation ID 1.',
        documentation_url:
          'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits',
      });
      return false;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      this.writes = this.writes.filter((t) => t > now - 60_000);
      if (this.writes.length >= this.limits.writesPerMinute) {
        const oldest = this.writes[0] ?? now;
        this.rateLimited.secondary++;
        send(
          res,
          403,
          {
            message:
              'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
            documentation_url:
              'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
          },
          { 'retry-after': String(Math.max(1, Math.ceil((oldest + 60_000 - now) / 1000))) },
        );
        return false;
      }
      this.writes.push(now);
    }
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = decodeURIComponent(url.pathname).replace(/^\/api\/v3/, '');
    const method = req.method ?? 'GET';
    const authorization = req.headers.authorization ?? '';
    this.requests.push({ method, path, authorization });
    const body = await readJson(req);

    // codeload: the archive a tarball request redirects to, authorised by the token in its URL.
    const archive = /^\/_codeload\/([^/]+)\/([^/]+)\/legacy\.tar\.gz\/([0-9a-f]{40})$/.exec(path);
    if (archive && method === 'GET')
      return this.sendArchive(res, archive[3] ?? '', url.searchParams.get('token'));

    const faultIndex = this.faults.findIndex((f) => f.method === method && f.path.test(path));
    if (faultIndex >= 0) {
      const [fault] = this.faults.splice(faultIndex, 1);
      if (fault) return send(res, fault.status, fault.body ?? { message: 'fault' }, fault.headers);
    }

    const appRoute = /^\/app\/installations\/([^/]+)\/access_tokens$/.exec(path);
    if (appRoute && method === 'POST') return this.appToken(res, authorization, appRoute[1] ?? '');

    const token = /^(?:token|bearer) (.+)$/i.exec(authorization)?.[1];
    if (token !== this.tokens.valid && token !== this.tokens.readOnly) {
      return send(res, 401, {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest',
      });
    }
    if (!this.rateLimit(res, method)) return;
    const prefix = `/repos/${this.owner}/${this.repo}`;
    if (!path.startsWith(prefix)) return send(res, 404, { message: 'Not Found' });
    if (method !== 'GET' && token === this.tokens.readOnly) {
      return send(res, 403, { message: 'Resource not accessible by integration' });
    }
    const route = path.slice(prefix.length);
    const m = (pattern: RegExp) => pattern.exec(route);
    let match: RegExpExecArray | null;

    if (route === '' && method === 'GET') {
      return send(res, 200, {
        full_name: `${this.owner}/${this.repo}`,
        default_branch: await this.defaultBranch(),
      });
    }
    if ((match = m(/^\/git\/ref\/heads\/(.+)$/)) && method === 'GET') {
      const sha = await this.resolve(`refs/heads/${match[1]}`);
      if (!sha) return send(res, 404, { message: 'Not Found' });
      return send(res, 200, { ref: `refs/heads/${match[1]}`, object: { sha, type: 'commit' } });
    }
    if ((match = m(/^\/git\/matching-refs\/heads(?:\/(.*))?$/)) && method === 'GET') {
      // Every branch whose name starts with the prefix, in ref order, paged as GitHub pages lists.
      const names = (await this.git(['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads/']))
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' '))
        .filter(([ref = '']) => ref.startsWith(`refs/heads/${match?.[1] ?? ''}`));
      return send(
        res,
        200,
        page(url, names).map(([ref, sha]) => ({ ref, object: { sha, type: 'commit' } })),
      );
    }
    if ((match = m(/^\/contents\/(.+)$/)) && method === 'GET') {
      const ref = url.searchParams.get('ref') ?? (await this.defaultBranch());
      const file = match[1] ?? '';
      const sha = await this.resolve(`${ref}:${file}`);
      if (!sha) return send(res, 404, { message: 'Not Found' });
      const content = await this.gitBytes(['cat-file', 'blob', sha]);
      if (content.length > this.limits.apiMaxFile) return tooLarge(res);
      const raw = /\.raw\b/.test(req.headers.accept ?? '');
      if (raw) {
        res.writeHead(200, { 'content-type': 'application/vnd.github.raw; charset=utf-8' });
        return void res.end(content);
      }
      // Between 1 MB and 100 MB GitHub sends the metadata only: empty content, encoding "none".
      const inline = content.length <= this.limits.contentsInline;
      return send(res, 200, {
        type: 'file',
        path: file,
        sha,
        size: content.length,
        encoding: inline ? 'base64' : 'none',
        content: inline ? content.toString('base64') : '',
      });
    }
    if ((match = m(/^\/tarball\/(.+)$/)) && method === 'GET') {
      const sha = await this.resolve(`${match[1] ?? ''}^{commit}`);
      if (!sha) return send(res, 404, { message: 'Not Found' });
      // As GitHub: a redirect to codeload, which takes a short-lived token in the URL.
      const location = `${this.baseUrl.replace(/\/api\/v3$/, '')}/_codeload/${this.owner}/${this.repo}/legacy.tar.gz/${sha}?token=${encodeURIComponent(token ?? '')}`;
      res.writeHead(302, { location });
      return void res.end();
    }
    if ((match = m(/^\/git\/commits\/([0-9a-f]{40})$/)) && method === 'GET') {
      return this.sendCommit(res, match[1] ?? '');
    }
    if ((match = m(/^\/git\/trees\/([0-9a-f]{40})$/)) && method === 'GET') {
      const recursive = url.searchParams.has('recursive');
      // Read whole (megabytes for a large tree), not through the code under test.
      const listing = await this.gitBytes([
        'ls-tree',
        ...(recursive ? ['-r', '-t'] : []),
        '--long',
        '--full-tree',
        match[1] ?? '',
      ]).then(
        (out) => out.toString('utf8'),
        () => undefined,
      );
      if (listing === undefined) return send(res, 404, { message: 'Not Found' });
      const api = `${this.baseUrl}${prefix}`;
      const tree: Record<string, unknown>[] = [];
      let bytes = 0;
      let truncated = false;
      for (const line of listing.split('\n').filter(Boolean)) {
        const [meta = '', path = ''] = line.split('\t');
        const [mode, type, sha, size] = meta.split(/\s+/);
        const entry = {
          path,
          mode,
          type,
          sha,
          ...(type === 'blob' ? { size: Number(size) } : {}),
          url: `${api}/git/${type === 'blob' ? 'blobs' : 'trees'}/${sha}`,
        };
        bytes += JSON.stringify(entry).length + 1;
        // GitHub's limits on one recursive listing: the rest is left out, and the answer says so.
        if (tree.length >= this.limits.treeEntries || bytes > this.limits.treeBytes) {
          truncated = true;
          break;
        }
        tree.push(entry);
      }
      return send(res, 200, { sha: match[1], url: `${api}/git/trees/${match[1]}`, tree, truncated });
    }
    if ((match = m(/^\/git\/blobs\/([0-9a-f]{40})$/)) && method === 'GET') {
      const content = await this.gitBytes(['cat-file', 'blob', match[1] ?? '']).catch(() => undefined);
      if (content === undefined) return send(res, 404, { message: 'Not Found' });
      if (content.length > this.limits.apiMaxFile) return tooLarge(res);
      return send(res, 200, {
        sha: match[1],
        size: content.length,
        encoding: 'base64',
        content: content.toString('base64'),
      });
    }
    if (route === '/commits' && method === 'GET') {
      const ref = url.searchParams.get('sha') ?? (await this.defaultBranch());
      const perPage = Number(url.searchParams.get('per_page') ?? 30);
      const page = Number(url.searchParams.get('page') ?? 1);
      const file = url.searchParams.get('path');
      const log = await this.git([
        'log',
        `--skip=${(page - 1) * perPage}`,
        `-n${perPage}`,
        '--format=%H%x1f%P%x1f%B%x1e',
        ref,
        ...(file ? ['--', file] : []),
      ]).catch(() => undefined);
      if (log === undefined) return send(res, 404, { message: 'No commit found for SHA: ' + ref });
      const commits = log
        .split('\x1e')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((entry) => {
          const [sha = '', parents = '', message = ''] = entry.split('\x1f');
          return {
            sha,
            parents: parents
              .split(' ')
              .filter(Boolean)
              .map((p) => ({ sha: p })),
            commit: { message: message.trim() },
          };
        });
      return send(res, 200, commits);
    }
    if (route === '/git/blobs' && method === 'POST') {
      const { content = '', encoding = 'utf-8' } = body as { content?: string; encoding?: string };
      const text = encoding === 'base64' ? Buffer.from(content, 'base64').toString() : content;
      const sha = (await this.git(['hash-object', '-w', '--stdin'], undefined, text)).trim();
      return send(res, 201, { sha, url: `${this.baseUrl}${prefix}/git/blobs/${sha}` });
    }
    if (route === '/git/trees' && method === 'POST') {
      const { base_tree: base, tree = [] } = body as {
        base_tree?: string;
        tree?: { path: string; mode: string; type: string; sha: string }[];
      };
      const index = join(this.scratch, `index-${Math.random().toString(36).slice(2)}`);
      const env = { GIT_INDEX_FILE: index };
      try {
        if (base) await this.git(['read-tree', base], env);
        for (const entry of tree) {
          await this.git(
            ['update-index', '--add', '--cacheinfo', `${entry.mode},${entry.sha},${entry.path}`],
            env,
          );
        }
        const sha = (await this.git(['write-tree'], env)).trim();
        return send(res, 201, { sha });
      } catch (error) {
        return send(res, 422, { message: `Invalid tree: ${(error as Error).message}` });
      } finally {
        await rm(index, { force: true });
      }
    }
    if (route === '/git/commits' && method === 'POST') {
      const {
        message = '',
        tree = '',
        parents = [],
        author,
      } = body as {
        message?: string;
        tree?: string;
        parents?: string[];
        author?: { name: string; email: string };
      };
      const env = {
        GIT_AUTHOR_NAME: author?.name ?? 'GitHub',
        GIT_AUTHOR_EMAIL: author?.email ?? 'noreply@github.com',
        GIT_COMMITTER_NAME: 'GitHub',
        GIT_COMMITTER_EMAIL: 'noreply@github.com',
      };
      try {
        const sha = (
          await this.git(['commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), '-F', '-'], env, message)
        ).trim();
        return this.sendCommit(res, sha, 201);
      } catch (error) {
        return send(res, 422, { message: `Invalid commit: ${(error as Error).message}` });
      }
    }
    if ((match = m(/^\/git\/refs\/heads\/(.+)$/)) && method === 'PATCH') {
      const { sha = '', force = false } = body as { sha?: string; force?: boolean };
      await this.beforeRefUpdate?.();
      const ref = `refs/heads/${match[1]}`;
      const current = await this.resolve(ref);
      if (!current) return send(res, 422, { message: 'Reference does not exist' });
      if (!force && !(await this.isAncestor(current, sha))) {
        return send(res, 422, { message: 'Update is not a fast forward' });
      }
      // Compare-and-swap on the old value: two racing updates cannot both win.
      const swapped = await this.git(['update-ref', ref, sha, current]).then(
        () => true,
        () => false,
      );
      if (!swapped) return send(res, 422, { message: 'Update is not a fast forward' });
      return send(res, 200, { ref, object: { sha, type: 'commit' } });
    }
    if (route === '/git/refs' && method === 'POST') {
      const { ref = '', sha = '' } = body as { ref?: string; sha?: string };
      if (await this.resolve(ref)) return send(res, 422, { message: 'Reference already exists' });
      await this.git(['update-ref', ref, sha, '']);
      return send(res, 201, { ref, object: { sha, type: 'commit' } });
    }
    if ((match = m(/^\/git\/refs\/heads\/(.+)$/)) && method === 'DELETE') {
      const ref = `refs/heads/${match[1]}`;
      if (!(await this.resolve(ref))) return send(res, 422, { message: 'Reference does not exist' });
      await this.git(['update-ref', '-d', ref]);
      return send(res, 204, undefined);
    }
    if (route === '/pulls' && method === 'POST') {
      const { title = '', head = '', base = '', body: text = '' } = body as Record<string, string>;
      if (!(await this.resolve(`refs/heads/${head}`))) {
        return send(res, 422, { message: 'Validation Failed', errors: [{ field: 'head', code: 'invalid' }] });
      }
      const number = this.pulls.size + 1;
      this.pulls.set(number, {
        number,
        title,
        body: text,
        head,
        base,
        state: 'open',
        merged: false,
        comments: [],
        reviews: [],
      });
      return this.sendPull(res, number, 201);
    }
    if (route === '/pulls' && method === 'GET') {
      // GitHub filters by `head=owner:branch` and `state` (default open).
      const head = url.searchParams.get('head')?.replace(/^[^:]*:/, '');
      const state = url.searchParams.get('state') ?? 'open';
      const found = [...this.pulls.values()].filter(
        (p) => (!head || p.head === head) && (state === 'all' || p.state === state),
      );
      const bodies = await Promise.all(page(url, found).map((p) => this.pullBody(p.number)));
      return send(res, 200, bodies);
    }
    if ((match = m(/^\/pulls\/([0-9]+)$/)) && method === 'GET') return this.sendPull(res, Number(match[1]));
    if ((match = m(/^\/pulls\/([0-9]+)$/)) && method === 'PATCH') {
      const pull = this.pulls.get(Number(match[1]));
      if (!pull) return send(res, 404, { message: 'Not Found' });
      const { state } = body as { state?: 'open' | 'closed' };
      if (state) pull.state = state;
      return this.sendPull(res, pull.number);
    }
    if ((match = m(/^\/pulls\/([0-9]+)\/reviews$/)) && method === 'GET') {
      const pull = this.pulls.get(Number(match[1]));
      if (!pull) return send(res, 404, { message: 'Not Found' });
      // Paginated as GitHub does: per_page (default 30, at most 100) and page, oldest first.
      const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30) || 30);
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
      const shown = pull.reviews.slice((page - 1) * perPage, page * perPage);
      const headers: Record<string, string> =
        page * perPage < pull.reviews.length
          ? {
              link: `<${this.baseUrl}/repos/${this.owner}/${this.repo}/pulls/${pull.number}/reviews?per_page=${perPage}&page=${page + 1}>; rel="next"`,
            }
          : {};
      return send(
        res,
        200,
        shown.map((r) => this.reviewBody(pull, r)),
        headers,
      );
    }
    if ((match = m(/^\/pulls\/([0-9]+)\/reviews\/([0-9]+)$/)) && method === 'GET') {
      const pull = this.pulls.get(Number(match[1]));
      const review = pull?.reviews.find((r) => r.id === Number(match?.[2]));
      if (!pull || !review) return send(res, 404, { message: 'Not Found' });
      return send(res, 200, this.reviewBody(pull, review));
    }
    if ((match = m(/^\/issues\/([0-9]+)\/comments$/)) && method === 'POST') {
      const pull = this.pulls.get(Number(match[1]));
      if (!pull) return send(res, 404, { message: 'Not Found' });
      pull.comments.push((body as { body?: string }).body ?? '');
      return send(res, 201, { id: pull.comments.length, body: (body as { body?: string }).body });
    }
    if ((match = m(/^\/pulls\/([0-9]+)\/merge$/)) && method === 'PUT') {
      const pull = this.pulls.get(Number(match[1]));
      if (!pull) return send(res, 404, { message: 'Not Found' });
      if (pull.state !== 'open' || pull.merged)
        return send(res, 405, { message: 'Pull Request is not mergeable' });
      const { sha } = body as { sha?: string };
      const head = await this.resolve(`refs/heads/${pull.head}`);
      if (sha && sha !== head) {
        return send(res, 409, { message: 'Head branch was modified. Review and try the merge again.' });
      }
      const base = await this.resolve(`refs/heads/${pull.base}`);
      if (!head || !base) return send(res, 405, { message: 'Pull Request is not mergeable' });
      if (this.mergeRule) return send(res, 405, { message: this.mergeRule });
      // As GitHub's default merge method: a merge commit, refused (405) when the branches conflict.
      const tree = await this.git(['merge-tree', '--write-tree', base, head]).then(
        (out) => out.split('\n')[0]?.trim(),
        () => undefined,
      );
      if (!tree) return send(res, 405, { message: 'Pull Request is not mergeable' });
      const merge = (
        await this.git(
          ['commit-tree', tree, '-p', base, '-p', head, '-F', '-'],
          {
            GIT_AUTHOR_NAME: 'GitHub',
            GIT_AUTHOR_EMAIL: 'noreply@github.com',
            GIT_COMMITTER_NAME: 'GitHub',
            GIT_COMMITTER_EMAIL: 'noreply@github.com',
          },
          `Merge pull request #${pull.number} from ${this.owner}/${pull.head}\n\n${pull.title}`,
        )
      ).trim();
      await this.git(['update-ref', `refs/heads/${pull.base}`, merge, base]);
      pull.merged = true;
      pull.mergeCommit = merge;
      pull.state = 'closed';
      return send(res, 200, { sha: merge, merged: true, message: 'Pull Request successfully merged' });
    }
    return send(res, 404, { message: 'Not Found' });
  }

  /**
   * A review submitted on pull request `number` by `login`, at `commitId` (default: the head now), as
   * someone on github.com would: kept for the reviews API and returned with the webhook payload GitHub
   * would deliver for it.
   */
  async submitReview(
    number: number,
    review: { login: string; state: Review['state']; commitId?: string; body?: string },
  ): Promise<{ review: Review; payload: Record<string, unknown> }> {
    const pull = this.pulls.get(number);
    if (!pull) throw new Error(`no pull request #${number}`);
    const commitId = review.commitId ?? (await this.resolve(`refs/heads/${pull.head}`)) ?? pull.lastHead;
    if (!commitId) throw new Error(`pull request #${number} has no head`);
    const kept: Review = {
      id: this.nextReviewId++,
      login: review.login,
      state: review.state,
      commitId,
      body: review.body ?? '',
      submittedAt: new Date().toISOString(),
    };
    pull.reviews.push(kept);
    const body = await this.pullBody(number);
    const payload = {
      action: 'submitted',
      review: { ...this.reviewBody(pull, kept), state: kept.state.toLowerCase() },
      pull_request: body,
      repository: {
        name: this.repo,
        full_name: `${this.owner}/${this.repo}`,
        owner: { login: this.owner },
      },
      sender: { login: review.login },
    };
    return { review: kept, payload };
  }

  /**
   * Delivers a webhook as GitHub does: POST with the JSON payload, `X-GitHub-Event`, `X-GitHub-Delivery`
   * and `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body with the secret, hex>`. `secret`
   * undefined sends no signature. Returns the receiver's status and body.
   */
  static async deliverWebhook(
    url: string,
    event: string,
    payload: unknown,
    secret: string | undefined,
  ): Promise<{ status: number; body: string }> {
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/standin',
      'x-github-event': event,
      'x-github-delivery': randomUUID(),
    };
    if (secret !== undefined)
      headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const response = await fetch(url, { method: 'POST', headers, body });
    return { status: response.status, body: await response.text() };
  }

  private reviewBody(pull: PullRequest, review: Review): Record<string, unknown> {
    return {
      id: review.id,
      node_id: `PRR_${review.id}`,
      user: { login: review.login, type: 'User' },
      body: review.body,
      state: review.state,
      commit_id: review.commitId,
      submitted_at: review.submittedAt,
      author_association: 'MEMBER',
      html_url: `https://github.example.com/${this.owner}/${this.repo}/pull/${pull.number}#pullrequestreview-${review.id}`,
      pull_request_url: `${this.baseUrl}/repos/${this.owner}/${this.repo}/pulls/${pull.number}`,
    };
  }

  private appToken(res: ServerResponse, authorization: string, installationId: string): void {
    const jwt = /^bearer (.+)$/i.exec(authorization)?.[1] ?? '';
    const [header = '', payload = '', signature = ''] = jwt.split('.');
    const app = this.appKey;
    const verified =
      app !== undefined &&
      createVerify('RSA-SHA256')
        .update(`${header}.${payload}`)
        .verify(app.publicKey, Buffer.from(signature, 'base64url'));
    const claims = verified
      ? (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { iss?: unknown })
      : {};
    if (!verified || String(claims.iss) !== app.appId) {
      return send(res, 401, { message: 'A JSON web token could not be decoded' });
    }
    if (installationId !== app.installationId) return send(res, 404, { message: 'Not Found' });
    return send(res, 201, {
      token: this.tokens.valid,
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      permissions: { contents: 'write', pull_requests: 'write' },
      repository_selection: 'all',
    });
  }

  /** codeload's tarball of a commit: `git archive` under GitHub's `owner-repo-sha/` top folder. */
  private async sendArchive(res: ServerResponse, sha: string, token: string | null): Promise<void> {
    if (token !== this.tokens.valid && token !== this.tokens.readOnly)
      return send(res, 404, { message: 'Not Found' });
    const tarball = await this.gitBytes([
      'archive',
      '--format=tar.gz',
      `--prefix=${this.owner}-${this.repo}-${sha.slice(0, 7)}/`,
      sha,
    ]).catch(() => undefined);
    if (!tarball) return send(res, 404, { message: 'Not Found' });
    res.writeHead(200, { 'content-type': 'application/x-gzip', 'content-length': String(tarball.length) });
    res.end(tarball);
  }

  private async sendCommit(res: ServerResponse, sha: string, status = 200): Promise<void> {
    const raw = await this.git(['cat-file', 'commit', sha]).catch(() => undefined);
    if (raw === undefined) return send(res, 404, { message: 'Not Found' });
    const [headers = '', ...rest] = raw.split('\n\n');
    const tree = /^tree ([0-9a-f]+)$/m.exec(headers)?.[1];
    const parents = [...headers.matchAll(/^parent ([0-9a-f]+)$/gm)].map((p) => ({ sha: p[1] }));
    return send(res, status, { sha, tree: { sha: tree }, parents, message: rest.join('\n\n').trimEnd() });
  }

  private async sendPull(res: ServerResponse, number: number, status = 200): Promise<void> {
    const body = await this.pullBody(number);
    if (!body) return send(res, 404, { message: 'Not Found' });
    return send(res, status, body);
  }

  private async pullBody(number: number): Promise<Record<string, unknown> | undefined> {
    const pull = this.pulls.get(number);
    if (!pull) return undefined;
    // A merged pull request whose branch was deleted still reports the head it had.
    const sha = (await this.resolve(`refs/heads/${pull.head}`)) ?? pull.lastHead;
    if (sha) pull.lastHead = sha;
    return {
      number,
      state: pull.state,
      merged: pull.merged,
      merge_commit_sha: pull.mergeCommit ?? null,
      title: pull.title,
      body: pull.body,
      html_url: `https://github.example.com/${this.owner}/${this.repo}/pull/${number}`,
      head: { ref: pull.head, sha },
      base: { ref: pull.base },
    };
  }

  private async defaultBranch(): Promise<string> {
    return (await this.git(['symbolic-ref', '--short', 'HEAD'])).trim();
  }

  private async resolve(rev: string): Promise<string | undefined> {
    return this.git(['rev-parse', '--verify', '--quiet', rev]).then(
      (out) => out.trim() || undefined,
      (error: unknown) => {
        if (error instanceof GitError) return undefined;
        throw error;
      },
    );
  }

  private async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    return this.git(['merge-base', '--is-ancestor', ancestor, descendant]).then(
      () => true,
      () => false,
    );
  }
}

/** GitHub's list paging: `per_page` (default 30, at most 100) and `page` (from 1). */
function page<T>(url: URL, items: T[]): T[] {
  const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30) || 30);
  const number = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
  return items.slice((number - 1) * perPage, number * perPage);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  return text ? (JSON.parse(text) as unknown) : {};
}

/** GitHub's answer for a file past the API's 100 MB limit. */
function tooLarge(res: ServerResponse): void {
  send(res, 403, {
    message:
      'This API returns blobs up to 100 MB in size. The requested blob is too large to fetch via the API.',
    errors: [{ resource: 'Blob', field: 'data', code: 'too_large' }],
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}
