import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bumpValues, revertPromotion, type BumpInput } from '../../activities/bump.js';
import { git } from '../../activities/git.js';
import { RepositoryCache } from '../../activities/repository.js';
import { appendCommits } from '../support/large-data.js';
import { TestRepo } from '../support/repo.js';

const LATER_COMMITS = 5_000;
const IDENTITY = { name: 'Promote', email: 'promote@localhost' };

let repo: TestRepo;
let cacheDir: string;
afterEach(async () => {
  await repo?.remove();
  await rm(cacheDir, { recursive: true, force: true });
});

async function bumpInput(): Promise<BumpInput> {
  const head = (await git(['rev-parse', 'main'], { cwd: repo.url })).trim();
  return {
    promotionId: 'promote-buried',
    run: 'run-1',
    repo: repo.url,
    branch: 'main',
    env: 'staging',
    valuesFile: 'environments/staging.yaml',
    sinceCommit: head,
    edits: [{ app: 'api', tagPath: 'api.image.tag', tag: '1.5.0' }],
    sources: [],
  };
}

describe('no silent truncation: a promotion finds its own bump by trailers on a busy branch', () => {
  it(`finds it under ${LATER_COMMITS} later commits: a retried bump reuses it, compensation reverts it`, async () => {
    repo = await TestRepo.create();
    cacheDir = await mkdtemp(join(tmpdir(), 'promote-cache-'));
    const cache = new RepositoryCache(cacheDir, IDENTITY);
    const input = await bumpInput();
    const bump = await bumpValues(cache, input);
    expect(bump.changed).toBe(true);

    // Other promotions and people keep committing (to another file) long after the bump.
    await appendCommits(repo.url, 'main', LATER_COMMITS, 'notes/activity.txt');
    expect(
      Number((await git(['rev-list', '--count', `${bump.commit}..main`], { cwd: repo.url })).trim()),
    ).toBe(LATER_COMMITS);

    // A retry of the bump activity (its result was lost) must recognise the bump, not call it "no change".
    const retried = await bumpValues(new RepositoryCache(join(cacheDir, 'other'), IDENTITY), input);
    expect(retried).toMatchObject({ commit: bump.commit, changed: true, previousTags: { api: '1.4.0' } });

    // Compensation finds the bump by its trailers alone and reverts exactly it.
    const reverted = await revertPromotion(cache, {
      ...input,
      subject: 'revert(staging): undo the bump of promote-buried',
      reason: 'the apply failed',
    });
    // The revert's own change: the tag back from the bump's value to the one before it.
    expect(reverted.restored).toEqual([{ path: 'api.image.tag', before: '1.5.0', after: '1.4.0' }]);
    expect(reverted.commit).toBeDefined();
    expect(await repo.file('environments/staging.yaml')).toContain('tag: "1.4.0"');
    const message = await git(['log', '-1', '--format=%B', 'main'], { cwd: repo.url });
    expect(message).toContain(`Reverts ${bump.commit}`);
  });
});
