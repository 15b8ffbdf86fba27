import type { GitHubRepository } from './github.js';

/** Trailer values of a commit message (the last paragraph's `Key: value` lines). */
export function trailers(message: string): Map<string, string> {
  const last =
    message
      .trimEnd()
      .split(/\n\s*\n/)
      .at(-1) ?? '';
  const out = new Map<string, string>();
  for (const line of last.split('\n')) {
    const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line.trim());
    if (match) out.set(match[1] ?? '', (match[2] ?? '').trim());
  }
  return out;
}

export interface TrailerCommit {
  hash: string;
  promotionId?: string;
  env?: string;
  action?: string;
  run?: string;
}

type TrailerKeys = { id: string; env: string; action: string };

function withTrailers(commit: { sha: string; message: string }, keys: TrailerKeys): TrailerCommit {
  const found = trailers(commit.message);
  const [promotionId, env, action, run] = [
    found.get(keys.id),
    found.get(keys.env),
    found.get(keys.action),
    found.get('Promote-Run'),
  ];
  return {
    hash: commit.sha,
    ...(promotionId ? { promotionId } : {}),
    ...(env ? { env } : {}),
    ...(action ? { action } : {}),
    ...(run ? { run } : {}),
  };
}

/**
 * Commits on the branch with their Promote trailers, newest first, as `git log` gives them for the git
 * provider: stops at `since` (exclusive), optionally only those touching `path`.
 */
export async function trailerLog(
  github: GitHubRepository,
  input: {
    branch: string;
    since?: string;
    path?: string;
    limit: number;
    keys: TrailerKeys;
  },
): Promise<TrailerCommit[]> {
  const out: TrailerCommit[] = [];
  for (const commit of await github.commits(input.branch, {
    limit: input.limit,
    ...(input.path ? { path: input.path } : {}),
  })) {
    if (input.since && commit.sha === input.since) break;
    out.push(withTrailers(commit, input.keys));
  }
  return out;
}

/**
 * The commit this promotion already made for an environment and action, found by its trailers. Read
 * page by page until found or `sinceCommit` is reached, with no count limit: thousands of commits
 * after the bump must not hide it (a hidden bump is made twice, or never reverted).
 */
export async function findGitHubPromotionCommit(
  github: GitHubRepository,
  key: { promotionId: string; branch: string; env: string; sinceCommit: string; run?: string },
  action: 'bump' | 'revert' | 'any',
): Promise<{ hash: string; action: string } | undefined> {
  const keys = { id: 'Promote-Id', env: 'Promote-Env', action: 'Promote-Action' };
  for await (const commit of github.eachCommit(key.branch)) {
    if (key.sinceCommit && commit.sha === key.sinceCommit) return undefined;
    const c = withTrailers(commit, keys);
    // A run-scoped key only takes its own run's commits; a key without a run (older runs) takes any.
    if (
      c.promotionId === key.promotionId &&
      c.env === key.env &&
      (action === 'any' ? c.action === 'bump' || c.action === 'revert' : c.action === action) &&
      (!key.run || c.run === key.run) &&
      c.action
    )
      return { hash: c.hash, action: c.action };
  }
  return undefined;
}
