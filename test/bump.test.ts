import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bumpValues, type BumpInput } from '../activities/bump.js';
import { RepositoryCache } from '../activities/repository.js';
import { git } from '../activities/git.js';
import { TestRepo } from './support/repo.js';
import { devBumpInput } from './support/bump-input.js';

/** A cache whose first commit sees someone else push first: a real non-fast-forward race. */
class RacingCache extends RepositoryCache {
  raced = false;
  constructor(
    cacheDir: string,
    private readonly race: () => Promise<unknown>,
  ) {
    super(cacheDir, { name: 'Promote', email: 'promote@localhost' });
  }
  // Between reading the branch head and pushing the commit made on it.
  override async commitFile(...args: Parameters<RepositoryCache['commitFile']>) {
    if (!this.raced) {
      this.raced = true;
      await this.race();
    }
    return super.commitFile(...args);
  }
}

let repo: TestRepo;
let cacheDir: string;
afterEach(async () => {
  await repo?.remove();
  await rm(cacheDir, { recursive: true, force: true });
});

/** A bump commit touches its values file and nothing else (it is made without a checkout). */
async function filesChangedBy(commit: string): Promise<string[]> {
  return (await git(['diff', '--name-only', `${commit}^`, commit], { cwd: repo.url })).trim().split('\n');
}

const input = (): Promise<BumpInput> => devBumpInput(repo.url, repo.url, 'promote-test');

describe('bump commit', () => {
  it('re-applies the edit on top of a commit pushed in between, keeping it', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    cacheDir = await mkdtemp(join(tmpdir(), 'promote-cache-'));
    const values = await repo.file('environments/dev.yaml');
    const cache = new RacingCache(cacheDir, () =>
      repo.commitFile(
        'environments/dev.yaml',
        values.replace('replicas: 1', 'replicas: 4'),
        'chore: scale api',
      ),
    );
    const result = await bumpValues(cache, await input());

    expect(cache.raced).toBe(true);
    const [bump, theirs] = await repo.commits();
    expect(bump?.subject).toBe('feat(dev): update api to 1.5.0');
    expect(theirs?.subject).toBe('chore: scale api');
    expect(result).toMatchObject({ commit: bump?.hash, changed: true, previousTags: { api: '1.4.0' } });
    const after = await repo.file('environments/dev.yaml');
    expect(after).toContain('tag: "1.5.0"');
    expect(after).toContain('replicas: 4');
    expect(await filesChangedBy(result.commit)).toEqual(['environments/dev.yaml']);
  });

  it('reuses its own earlier commit instead of committing twice', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    cacheDir = await mkdtemp(join(tmpdir(), 'promote-cache-'));
    const cache = new RepositoryCache(cacheDir, { name: 'Promote', email: 'promote@localhost' });
    const request = await input();
    const first = await bumpValues(cache, request);
    // A second worker, with a cold cache, retries the same activity.
    const other = new RepositoryCache(join(cacheDir, 'other'), {
      name: 'Promote',
      email: 'promote@localhost',
    });
    const again = await bumpValues(other, request);

    expect(again).toEqual(first);
    expect(await filesChangedBy(first.commit)).toEqual(['environments/dev.yaml']);
    expect((await repo.commits()).map((c) => c.subject)).toEqual([
      'feat(dev): update api to 1.5.0',
      'chore: deployment repository for the shop services',
    ]);
  });
});
