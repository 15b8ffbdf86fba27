import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPromotionCommit, type PromotionCommitKey } from '../activities/bump.js';
import { GitHubRepository } from '../activities/providers/github.js';
import { RepositoryCache } from '../activities/repository.js';
import { GitHubStandIn } from './support/github-standin.js';
import { appendCommits } from './support/large-data.js';
import { TestRepo } from './support/repo.js';

/**
 * A promotion finds its own commits by their trailers (a retried bump reuses its commit, compensation
 * reverts it). The search is bounded by the commit the saga's first execution read its config at;
 * only a reset execution, whose config was read after the saga's commits, reads the whole branch.
 */
const TOKEN = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
const FILE = 'environments/dev.yaml';
const IDENTITY = { name: 'Promote', email: 'promote@localhost' };
const SAGA = { promotionId: 'promote-bounded', run: 'run-1', env: 'dev', branch: 'main' };

const bumpMessage = (subject: string) =>
  `${subject}\n\nPromote-Id: ${SAGA.promotionId}\nPromote-Env: dev\nPromote-Action: bump\nPromote-Run: ${SAGA.run}\n`;

let repo: TestRepo;
let github: GitHubStandIn | undefined;
let cacheDir: string;
afterEach(async () => {
  await github?.stop();
  github = undefined;
  await repo?.remove();
  await rm(cacheDir, { recursive: true, force: true });
});

/** A repository whose branch carries a commit with the saga's trailers, then the config commit. */
async function sagaCommitBeforeConfig(): Promise<{ planted: string; configCommit: string }> {
  repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
  cacheDir = await mkdtemp(join(tmpdir(), 'promote-search-'));
  const values = await repo.file(FILE);
  const planted = await repo.commitFile(
    FILE,
    values.replace('replicas: 1', 'replicas: 2'),
    bumpMessage('old'),
  );
  const configCommit = await repo.commitFile('notes.txt', 'config read here\n', 'chore: notes');
  return { planted, configCommit };
}

/** A worker's mirror of the repository, fetched as the bump activity fetches it first. */
async function fetchedCache(): Promise<RepositoryCache> {
  const cache = new RepositoryCache(cacheDir, IDENTITY);
  await cache.fetch(repo.url, 'main');
  return cache;
}

const keyOf = (repoUrl: string, configCommit: string, runSince?: string): PromotionCommitKey => ({
  ...SAGA,
  repo: repoUrl,
  sinceCommit: configCommit,
  ...(runSince ? { runSince } : {}),
});

describe('finding a promotion commit by its trailers', () => {
  it("a first execution reads the branch from its config commit: commits before it are not the saga's", async () => {
    const { configCommit } = await sagaCommitBeforeConfig();
    const cache = await fetchedCache();
    expect(
      await findPromotionCommit(cache, keyOf(repo.url, configCommit, configCommit), 'bump'),
    ).toBeUndefined();
  });

  it("a reset execution (no runSince) reads the whole branch and finds its first execution's bump", async () => {
    const { planted, configCommit } = await sagaCommitBeforeConfig();
    const cache = await fetchedCache();
    expect(await findPromotionCommit(cache, keyOf(repo.url, configCommit), 'bump')).toBe(planted);
  });

  it('a bump under 5,000 later commits is still found from the config commit', async () => {
    const { configCommit } = await sagaCommitBeforeConfig();
    const bump = await repo.commitFile('notes.txt', 'bumped\n', bumpMessage('new'));
    await appendCommits(repo.url, 'main', 5_000, 'notes/activity.txt');
    const cache = await fetchedCache();
    expect(await findPromotionCommit(cache, keyOf(repo.url, configCommit, configCommit), 'bump')).toBe(bump);
  });

  it('on GitHub, a first execution pages the commits down to its config commit only', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    cacheDir = await mkdtemp(join(tmpdir(), 'promote-search-'));
    // A busy deployment branch: 1,000 commits before the promotion read its config.
    await appendCommits(repo.url, 'main', 1_000, 'notes/activity.txt');
    const configCommit = (await repo.head()) ?? '';
    const bump = await repo.commitFile('notes.txt', 'bumped\n', bumpMessage('new'));
    github = await GitHubStandIn.start({ repoPath: repo.url, token: TOKEN });
    const baseUrl = github.baseUrl;
    const cache = new RepositoryCache(
      cacheDir,
      IDENTITY,
      {},
      (spec) => new GitHubRepository({ ...spec, baseUrl }, { token: TOKEN }, { paceWrites: false }),
    );
    const pages = () => (github?.requests ?? []).filter((r) => /\/commits(\?|$)/.test(r.path)).length;

    const key = keyOf('github:shop/deployment', configCommit, configCommit);
    expect(await findPromotionCommit(cache, key, 'revert')).toBeUndefined();
    expect(pages()).toBe(1);
    expect(await findPromotionCommit(cache, key, 'bump')).toBe(bump);

    // Without the bound (a reset execution) the same question reads all eleven pages.
    const before = pages();
    expect(await findPromotionCommit(cache, keyOf('github:shop/deployment', configCommit), 'revert')).toBe(
      undefined,
    );
    expect(pages() - before).toBe(11);
  });
});
