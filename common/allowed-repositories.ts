import { repositoryKey } from './ids.js';
import { fileUrlPath, isLocalPath } from './repo-location.js';

/**
 * Which repositories a worker runs promotions of (`PROMOTE_ALLOWED_REPOSITORIES`). A repository's own
 * promote.yaml decides what the worker runs (deploy commands, with the worker's credentials), so the
 * worker's operators, not whoever starts a promotion, decide which repositories count.
 * No Node APIs: the worker and the CLI share it.
 */
export type AllowedRepositories =
  /** Unset on a production worker: every repository (the worker says so loudly at start). */
  | { kind: 'any' }
  /** Unset under `promote dev`: repositories on this machine's disk only. */
  | { kind: 'local' }
  /** Comma-separated patterns, matched on the canonical repository key. */
  | { kind: 'patterns'; patterns: readonly string[] };

export const ALLOWED_REPOSITORIES_ENV = 'PROMOTE_ALLOWED_REPOSITORIES';

export class AllowedRepositoriesError extends Error {
  override readonly name = 'AllowedRepositoriesError';
}

/**
 * Reads the setting: patterns in any form a repository can be written in (`https://host/team/*.git`,
 * `git@host:team/*`, `host/team/*`, `/srv/repos/*`, `github:owner/*`). `*` matches within one path
 * segment, `**` across segments.
 */
export function parseAllowedRepositories(
  raw: string | undefined,
  unsetMeans: 'any' | 'local',
): AllowedRepositories {
  if (raw === undefined || raw.trim() === '') return { kind: unsetMeans };
  const patterns = raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const pattern of patterns) {
    if (repositoryKey(pattern) === '' || pattern.includes('***')) {
      throw new AllowedRepositoriesError(
        `${ALLOWED_REPOSITORIES_ENV}: ${JSON.stringify(pattern)} is not a repository pattern`,
      );
    }
  }
  return { kind: 'patterns', patterns };
}

function isLocal(repo: string): boolean {
  return fileUrlPath(repo) !== undefined || isLocalPath(repo);
}

function globToRegExp(key: string): RegExp {
  const source = key
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((literal) => literal.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${source}$`);
}

/** Why the worker will not touch `repo`, or undefined when it may. */
export function repositoryNotAllowed(repo: string, allowed: AllowedRepositories): string | undefined {
  if (allowed.kind === 'any') return undefined;
  if (allowed.kind === 'local') {
    if (isLocal(repo)) return undefined;
    return `the repository ${repo} is not on this machine, and \`promote dev\` allows only local repositories unless ${ALLOWED_REPOSITORIES_ENV} names it`;
  }
  const key = repositoryKey(repo);
  if (allowed.patterns.some((pattern) => globToRegExp(repositoryKey(pattern)).test(key))) return undefined;
  return `the repository ${repo} (key ${key}) is not in this worker's ${ALLOWED_REPOSITORIES_ENV} (${allowed.patterns.join(', ')}): the worker's operators decide which repositories it runs`;
}

/** One line for the worker's start-up log: what it runs, loudly when that is everything. */
export function describeAllowedRepositories(allowed: AllowedRepositories): string {
  switch (allowed.kind) {
    case 'any':
      return `WARNING: ${ALLOWED_REPOSITORIES_ENV} is not set: this worker runs promotions of ANY repository anyone who can start a promotion names, and that repository's promote.yaml runs its deploy commands here with this worker's credentials. Set ${ALLOWED_REPOSITORIES_ENV} to the repositories it serves.`;
    case 'local':
      return `allowed repositories: local paths only (set ${ALLOWED_REPOSITORIES_ENV} to allow remote ones)`;
    case 'patterns':
      return `allowed repositories: ${allowed.patterns.join(', ')}`;
  }
}

/**
 * The host (`host` or `host:port`, lower case) of a pattern or repository URL, as git names it to
 * credential helpers; undefined for local paths, `github:` specs and hosts with wildcards.
 */
export function repositoryHost(repo: string): string | undefined {
  if (isLocalPath(repo) && !/^[^/*]+\.[^/]*\//.test(repo)) return undefined;
  let host: string | undefined;
  const url = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)/i.exec(repo);
  if (url) {
    if (url[1]?.toLowerCase() === 'file') return undefined;
    host = (url[2] ?? '').replace(/^[^@]*@/, '');
  } else if (/^github:/i.test(repo)) {
    return undefined;
  } else {
    // scp-like `user@host:path`, or the key form `host/path`.
    const scp = /^(?:[^@/:]+@)?([^/:]+):(?!\/\/)/.exec(repo);
    host = scp?.[1] ?? repo.split('/')[0];
  }
  if (!host || host.includes('*')) return undefined;
  return host.toLowerCase();
}

/** The hosts of the allowed patterns: where the worker's git credentials go by default. */
export function allowedHosts(allowed: AllowedRepositories): string[] {
  if (allowed.kind !== 'patterns') return [];
  const hosts = allowed.patterns.map(repositoryHost).filter((h): h is string => h !== undefined);
  return [...new Set(hosts)];
}
