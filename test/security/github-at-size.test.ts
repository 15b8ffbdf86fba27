import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setScalars } from '../../activities/formats/yaml-values.js';
import { findGitHubPromotionCommit } from '../../activities/providers/github-history.js';
import {
  GitHubAccessError,
  GitHubRepository,
  type GitHubOptions,
} from '../../activities/providers/github.js';
import { RepositoryCache, RepositoryUnreachableError } from '../../activities/repository.js';
import { GitHubStandIn, type GitHubLimits } from '../support/github-standin.js';
import {
  appendCommits,
  blobBytes,
  commitLargeValues,
  commitManyFiles,
  differingLines,
} from '../support/large-data.js';
import { TestRepo } from '../support/repo.js';

const TOKEN = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
const FILE = 'environments/dev.yaml';

let repo: TestRepo;
let github: GitHubStandIn;
let scratch: string | undefined;
afterEach(async () => {
  await github?.stop();
  await repo?.remove();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function setUp(limits: Partial<GitHubLimits> = {}): Promise<void> {
  repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
  github = await GitHubStandIn.start({ repoPath: repo.url, token: TOKEN, limits });
  scratch = await mkdtemp(join(tmpdir(), 'promote-github-size-'));
}

function client(options: GitHubOptions = {}): GitHubRepository {
  return new GitHubRepository(
    { owner: 'shop', repo: 'deployment', baseUrl: github.baseUrl },
    { token: TOKEN },
    {
      paceWrites: false,
      retryAfterUnitMs: 10,
      ...options,
    },
  );
}

/** What the stand-in (as GitHub) answers to a raw API request. */
async function api(path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${github.baseUrl}/repos/shop/deployment${path}`, {
    headers: { authorization: `token ${TOKEN}`, accept: 'application/vnd.github+json' },
  });
  return (await response.json()) as Record<string, unknown>;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name));
}

const bumpTo = (tag: string, id = 'promote-gh') => ({
  branch: 'main',
  path: FILE,
  message: `feat(dev): update api to ${tag}\n\nPromote-Id: ${id}\nPromote-Env: dev\nPromote-Action: bump\n`,
  edit: (source: string) => setScalars(source, [{ path: 'api.image.tag', value: tag }], FILE),
});

describe('GitHub at real sizes, against a stand-in that fails as GitHub does', () => {
  it('checks out a commit whose recursive tree GitHub truncates: every file, modes kept', async () => {
    await setUp();
    // 4,000 vendored files deep in a chart: their tree listing passes GitHub's 7 MB limit.
    const deep = Array.from({ length: 8 }, (_, i) => `level${i}-${'x'.repeat(230)}`).join('/');
    const paths = Array.from(
      { length: 4_000 },
      (_, i) => `vendor/${deep}/file-${String(i).padStart(5, '0')}.yaml`,
    );
    const head = await commitManyFiles(repo.url, 'main', paths, 'kind: ConfigMap\n');
    const commit = (await api(`/git/commits/${head}`)) as { tree: { sha: string } };
    const listing = await api(`/git/trees/${commit.tree.sha}?recursive=1`);
    expect(listing.truncated).toBe(true);

    await client().withCheckout(head, scratch ?? '', async (dir) => {
      const files = await filesUnder(dir);
      expect(files.filter((f) => f.includes('/vendor/'))).toHaveLength(paths.length);
      expect(await readFile(join(dir, paths[paths.length - 1] ?? ''), 'utf8')).toBe('kind: ConfigMap\n');
      expect(await readFile(join(dir, FILE), 'utf8')).toContain('tag: "1.4.0"');
      expect((await stat(join(dir, 'scripts/deploy.sh'))).mode & 0o111).not.toBe(0);
    });
  });

  it('reads and edits a values file over 1 MB: every byte but the tag line survives', async () => {
    await setUp();
    const { head, original } = await commitLargeValues(repo, FILE, 'chore: values');
    expect(original.length).toBeGreaterThan(1024 * 1024);
    // As GitHub: the contents API names the file but carries none of it.
    expect(await api(`/contents/${FILE}?ref=${head}`)).toMatchObject({ encoding: 'none', content: '' });

    const provider = client();
    expect(Buffer.from((await provider.readFile(head, FILE)) ?? '')).toEqual(original);
    const result = await provider.commitFileEdit(bumpTo('1.5.0'));
    expect(result.changes).toEqual([{ path: 'api.image.tag', before: '1.4.0', after: '1.5.0' }]);
    const committed = await blobBytes(repo.url, result.commit, FILE);
    expect(differingLines(original, committed)).toEqual([
      expect.objectContaining({ before: '    tag: "1.4.0"', after: '    tag: "1.5.0"' }),
    ]);
  });

  it('finds a promotion bump by its trailers under 5,000 later commits', async () => {
    await setUp();
    const since = await repo.head();
    const provider = client();
    const bump = await provider.commitFileEdit(bumpTo('1.5.0', 'promote-buried'));
    await appendCommits(repo.url, 'main', 5_000, 'notes/activity.txt');
    const key = { promotionId: 'promote-buried', branch: 'main', env: 'dev', sinceCommit: since ?? '' };
    expect((await findGitHubPromotionCommit(provider, key, 'bump'))?.hash).toBe(bump.commit);
    expect(await findGitHubPromotionCommit(provider, { ...key, promotionId: 'promote-other' }, 'bump')).toBe(
      undefined,
    );
  });

  it('a spent hourly budget fails at once as a rate limit that says when to retry, not as an access error', async () => {
    await setUp();
    github.setRateLimitUsed(github.limits.requestsPerWindow);
    // GitHub's own unit: a reset an hour away is not sat out inside the activity.
    const provider = client({ retryAfterUnitMs: 1_000 });
    const error = (await provider.head('main').catch((e: unknown) => e)) as Error & { retryAfterMs?: number };
    expect(error).not.toBeInstanceOf(GitHubAccessError);
    expect(error).toMatchObject({ name: 'GitHubRateLimitError', status: 403 });
    expect(error.retryAfterMs).toBeGreaterThan(50 * 60_000);
    expect(error.message).toMatch(/rate limit.*retry after \d{4}-\d{2}-\d{2}T/);

    // The repository cache passes it on: a rate limit is not an unreachable repository (non-retryable).
    const cache = new RepositoryCache(
      scratch ?? '',
      { name: 'Promote', email: 'p@example.com' },
      {},
      () => provider,
    );
    const fetched = await cache.fetch('github:shop/deployment', 'main').catch((e: unknown) => e);
    expect(fetched).not.toBeInstanceOf(RepositoryUnreachableError);
    expect(fetched).toMatchObject({ name: 'GitHubRateLimitError' });
    expect(github.rateLimited.primary).toBeGreaterThan(0);
  });

  it('sits out short rate limits in place: a budget that resets soon, and secondary limits on writes', async () => {
    await setUp({ requestsPerWindow: 4, windowMs: 2_000, writesPerMinute: 2 });
    const provider = client({ retryAfterUnitMs: 1_000, maxRateLimitRetries: 10 });
    const result = await provider.commitFileEdit(bumpTo('1.5.0'));
    expect(result.changes).toEqual([{ path: 'api.image.tag', before: '1.4.0', after: '1.5.0' }]);
    expect((await repo.commits())[0]?.hash).toBe(result.commit);
    expect(github.rateLimited.primary + github.rateLimited.secondary).toBeGreaterThan(0);
  });
});
