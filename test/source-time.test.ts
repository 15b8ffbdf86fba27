import { describe, expect, it } from '@jest/globals';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sourceCommitTime, SourceTimeUnknown, withSourceTimes } from '../client/source-time.js';
import { createSourceRepo, setOrigin } from './support/source-repo.js';
import { useTempDirs } from './support/temp-dirs.js';

const tempDir = useTempDirs('promote-source-time-');
const COMMITTED = new Date('2026-11-30T08:15:00.000Z');

/** `promote start --source`: the commit time comes from a checkout already on the machine, with real git. */
describe('the source commit time read at start', () => {
  it('reads a local source repository directly, and CI’s checkout of a remote one by its origin', async () => {
    const dir = await tempDir();
    const { path, commit } = await createSourceRepo(dir, COMMITTED);
    expect(await sourceCommitTime({ repo: path, ref: commit }, dir)).toBe(COMMITTED.toISOString());
    expect(await sourceCommitTime({ repo: `file://${path}`, ref: 'main' }, '/')).toBe(
      COMMITTED.toISOString(),
    );

    // CI runs in a checkout (here a subdirectory of it) whose origin carries a job token in its URL:
    // the same repository however spelled, and the token is never echoed.
    await setOrigin(path, 'https://gitlab-ci-token:SECRETTOKEN@git.example.com/shop/api.git');
    const cwd = join(path, 'sub');
    await mkdir(cwd);
    const source = { repo: 'https://git.example.com/shop/api', ref: commit.slice(0, 10) };
    expect(await sourceCommitTime(source, cwd)).toBe(COMMITTED.toISOString());
  });

  it('does not guess: another repository, a missing ref, an option-like ref, no checkout', async () => {
    const dir = await tempDir();
    const { path, commit } = await createSourceRepo(dir, COMMITTED);
    await setOrigin(path, 'https://oauth2:SECRETTOKEN@git.example.com/shop/deploy.git');
    const unknown = async (repo: string, ref: string, cwd: string) => {
      const error = await sourceCommitTime({ repo, ref }, cwd).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SourceTimeUnknown);
      expect(String(error)).not.toContain('SECRETTOKEN');
      return (error as Error).message;
    };
    // The checkout is of the deployment repository, whose `main` is not the source's.
    expect(await unknown('https://git.example.com/shop/api', 'main', path)).toContain(
      'has no remote https://git.example.com/shop/api',
    );
    expect(await unknown(path, 'f'.repeat(40), dir)).toContain('is not in');
    expect(await unknown(path, '--output=/tmp/x', dir)).toContain('is not a revision');
    expect(await unknown('https://git.example.com/shop/api', commit, dir)).toContain('is not a git checkout');
  });

  it('adds the times to the request it can, and says which it cannot', async () => {
    const dir = await tempDir();
    const { path, commit } = await createSourceRepo(dir, COMMITTED);
    const notes: string[] = [];
    const request = await withSourceTimes(
      {
        repo: '/srv/deploy',
        apps: [
          { app: 'api', tag: '1.0.0', source: { repo: path, ref: commit } },
          { app: 'web', tag: '2.0.0', source: { repo: 'https://git.example.com/shop/web', ref: 'abc123' } },
          { app: 'db', tag: '3.0.0' },
        ],
      },
      (line) => notes.push(line),
      dir,
    );
    expect(request.apps).toEqual([
      { app: 'api', tag: '1.0.0', source: { repo: path, ref: commit, committedAt: COMMITTED.toISOString() } },
      { app: 'web', tag: '2.0.0', source: { repo: 'https://git.example.com/shop/web', ref: 'abc123' } },
      { app: 'db', tag: '3.0.0' },
    ]);
    expect(notes).toEqual([
      `lead time of web will count from the promotion start: ${dir} is not a git checkout of https://git.example.com/shop/web`,
    ]);
  });
});
