import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { git, isNonFastForward } from './git.js';
import type { RepositoryCache } from './repository.js';
import { readScalars, setScalars, type ScalarChange } from './values-file.js';

export interface BumpEdit {
  app: string;
  tagPath: string;
  tag: string;
  revisionPath?: string;
  revision?: string;
}

export interface BumpInput {
  promotionId: string;
  repo: string;
  branch: string;
  env: string;
  valuesFile: string;
  /** Commits before this one cannot belong to the promotion: bounds the search for an earlier bump. */
  sinceCommit: string;
  edits: BumpEdit[];
  /** Upstream `repo@ref` per app, quoted in the commit body like the CI job used to. */
  sources: string[];
}

export interface BumpResult {
  /** The commit the environment should be deployed at. */
  commit: string;
  /** True when this call (or an earlier attempt of this promotion) changed the values file. */
  changed: boolean;
  changes: ScalarChange[];
  previousTags: Record<string, string>;
}

export const TRAILER = { id: 'Promote-Id', env: 'Promote-Env', action: 'Promote-Action' } as const;
const MAX_PUSH_ATTEMPTS = 5;

export function bumpMessage(input: BumpInput): string {
  const subject = `feat(${input.env}): update ${input.edits.map((e) => `${e.app} to ${e.tag}`).join(', ')}`;
  const body = input.sources.length > 0 ? `\n\n${input.sources.join('\n')}` : '';
  const trailers = `${TRAILER.id}: ${input.promotionId}\n${TRAILER.env}: ${input.env}\n${TRAILER.action}: bump`;
  return `${subject}${body}\n\n${trailers}\n`;
}

function scalarEdits(edits: readonly BumpEdit[]) {
  return edits.flatMap((e) => [
    { path: e.tagPath, value: e.tag },
    ...(e.revisionPath && e.revision ? [{ path: e.revisionPath, value: e.revision }] : []),
  ]);
}

/** Finds a commit on the branch that this promotion already made for this environment and action. */
export async function findPromotionCommit(
  cache: RepositoryCache,
  input: { repo: string; branch: string; sinceCommit: string; promotionId: string; env: string },
  action: string,
): Promise<string | undefined> {
  const format = `%H%x1f%(trailers:key=${TRAILER.id},valueonly,separator=%x2c)%x1f%(trailers:key=${TRAILER.env},valueonly,separator=%x2c)%x1f%(trailers:key=${TRAILER.action},valueonly,separator=%x2c)`;
  const log = await cache.git(input.repo, [
    'log',
    `--format=${format}`,
    `${input.sinceCommit}..refs/remotes/origin/${input.branch}`,
  ]);
  for (const line of log.split('\n')) {
    const [hash, id, env, act] = line.split('\x1f').map((s) => s.trim());
    if (hash && id === input.promotionId && env === input.env && act === action) return hash;
  }
  return undefined;
}

function tagsFrom(values: Map<string, string>, edits: readonly BumpEdit[]): Record<string, string> {
  return Object.fromEntries(edits.map((e) => [e.app, values.get(e.tagPath) ?? '']));
}

/**
 * Commits the new tags to the environment's values file and pushes. Safe to repeat: a commit this
 * promotion already pushed (found by its trailers) is reused, and values already at the tags make no commit.
 */
export async function bumpValues(cache: RepositoryCache, input: BumpInput): Promise<BumpResult> {
  let head = await cache.fetch(input.repo, input.branch);
  const tagPaths = input.edits.map((e) => e.tagPath);

  const earlier = await findPromotionCommit(cache, input, 'bump');
  if (earlier) {
    const before = await cache.readFile(input.repo, `${earlier}^`, input.valuesFile);
    const previous = readScalars(before ?? '', tagPaths, input.valuesFile);
    const after = readScalars(
      (await cache.readFile(input.repo, earlier, input.valuesFile)) ?? '',
      tagPaths,
      input.valuesFile,
    );
    const changes = tagPaths
      .filter((p) => previous.get(p) !== after.get(p))
      .map((p) => ({ path: p, before: previous.get(p), after: after.get(p) ?? '' }));
    return { commit: earlier, changed: true, changes, previousTags: tagsFrom(previous, input.edits) };
  }

  for (let attempt = 1; ; attempt++) {
    const outcome = await cache.withWorktree(input.repo, head, async (dir) => {
      const file = join(dir, input.valuesFile);
      const source = await readFile(file, 'utf8');
      const previousTags = tagsFrom(readScalars(source, tagPaths, input.valuesFile), input.edits);
      const { text, changes } = setScalars(source, scalarEdits(input.edits), input.valuesFile);
      if (changes.length === 0) return { commit: head, changed: false, changes, previousTags };
      await writeFile(file, text);
      await git(['add', '--', input.valuesFile], { cwd: dir });
      await git([...cache.identityArgs(), 'commit', '--quiet', '--no-verify', '-F', '-'], {
        cwd: dir,
        input: bumpMessage(input),
      });
      const commit = (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
      try {
        await git(['push', '--quiet', 'origin', `HEAD:refs/heads/${input.branch}`], { cwd: dir });
      } catch (error) {
        if (isNonFastForward(error) && attempt < MAX_PUSH_ATTEMPTS) return undefined;
        throw error;
      }
      return { commit, changed: true, changes, previousTags };
    });
    if (outcome) {
      if (outcome.changed) await cache.fetch(input.repo, input.branch);
      return outcome;
    }
    // Someone pushed in between: re-apply the edit on top of their commit.
    head = await cache.fetch(input.repo, input.branch);
  }
}
