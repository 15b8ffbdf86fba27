import { TRAILER } from './bump.js';
import { trailerLog } from './providers/github-history.js';
import type { RepositoryCache } from './repository.js';
import type { ValueOptions } from '../common/app-values.js';
import { readAppTag } from './formats/app-values.js';

const TRAILER_FORMAT = `%H%x1f%(trailers:key=${TRAILER.id},valueonly,separator=%x2c)%x1f%(trailers:key=${TRAILER.env},valueonly,separator=%x2c)%x1f%(trailers:key=${TRAILER.action},valueonly,separator=%x2c)`;

export interface HistoryCommit {
  hash: string;
  promotionId?: string;
  env?: string;
  action?: string;
}

/** Commits that touched `path` on the fetched branch, newest first, with their Promote trailers. */
export async function commitsTouching(
  cache: RepositoryCache,
  repo: string,
  branch: string,
  path: string,
  limit = 200,
): Promise<HistoryCommit[]> {
  const github = cache.gitHub(repo);
  if (github) return trailerLog(github, { branch, path, limit, keys: TRAILER });
  const log = await cache.git(repo, [
    'log',
    `-n${limit}`,
    `--format=${TRAILER_FORMAT}`,
    `refs/remotes/origin/${branch}`,
    '--',
    path,
  ]);
  return log
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [hash = '', promotionId, env, action] = line.split('\x1f').map((s) => s.trim());
      return {
        hash,
        ...(promotionId ? { promotionId } : {}),
        ...(env ? { env } : {}),
        ...(action ? { action } : {}),
      };
    });
}

async function tagAt(
  cache: RepositoryCache,
  repo: string,
  commit: string,
  valuesFile: string,
  app: TagLocation,
) {
  const text = await cache.readFile(repo, commit, valuesFile);
  if (text === undefined) return undefined;
  try {
    return readAppTag(text, { ...app, create: false }, valuesFile);
  } catch {
    return undefined;
  }
}

type TagLocation = ValueOptions & { tagPath: string };
type TagQuery = TagLocation & { repo: string; branch: string; valuesFile: string; current: string };

/** The tag the values file held before its current one: what a rollback returns to. */
export async function previousTag(cache: RepositoryCache, input: TagQuery): Promise<string | undefined> {
  for (const commit of await commitsTouching(cache, input.repo, input.branch, input.valuesFile)) {
    const tag = await tagAt(cache, input.repo, `${commit.hash}^`, input.valuesFile, input);
    if (tag !== undefined && tag !== input.current) return tag;
  }
  return undefined;
}

/** The newest commit that set `tagPath` to its current value in `valuesFile`. */
export async function commitThatSet(
  cache: RepositoryCache,
  input: TagQuery,
): Promise<HistoryCommit | undefined> {
  let introducing: HistoryCommit | undefined;
  for (const commit of await commitsTouching(cache, input.repo, input.branch, input.valuesFile)) {
    const tag = await tagAt(cache, input.repo, commit.hash, input.valuesFile, input);
    if (tag !== input.current) break;
    introducing = commit;
  }
  return introducing;
}
