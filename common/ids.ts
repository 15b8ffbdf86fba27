import { parseGitHubSpec } from './repo-spec.js';
import type { PromotionRequest } from './types.js';

/** FNV-1a, 32 bit: a short, stable digest that needs no Node APIs (this module is shared with workflows). */
export function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/**
 * Same request, same id: a CI job that retries `promote start` attaches to the promotion it already
 * started instead of racing it. Readable apps and tags first, so the id means something in the Web UI.
 */
export function promotionWorkflowId(request: PromotionRequest): string {
  const apps = [...request.apps].sort((a, b) => a.app.localeCompare(b.app));
  const identity = JSON.stringify({
    repo: request.repo,
    apps: apps.map((a) => [a.app, a.tag, a.source?.repo ?? '', a.source?.ref ?? '']),
    to: request.to ?? '',
    only: request.only ?? '',
    force: request.force ?? false,
    rollback: request.rollback ?? null,
  });
  if (request.rollback) {
    const { app, env, toTag } = request.rollback;
    return `rollback-${app}-${env}${toTag ? `-${toTag}` : ''}-${shortHash(identity)}`;
  }
  const readable = apps.map((a) => `${a.app}-${a.tag}`).join('_');
  return `promote-${readable}-${shortHash(identity)}`;
}

/** One lock workflow per repository and environment: every promotion of that environment queues on it. */
export function environmentLockId(repo: string, env: string): string {
  return `env/${shortHash(repo)}/${env}`;
}

/**
 * One name for one repository however it is spelled: a path, `file://`, `ssh://`, scp-like
 * `git@host:` and `https://` forms, host case, a trailing `.git` or slash, and user names all map to
 * `host/path` (or the absolute path for local repositories). The GitHub provider's `github:OWNER/REPO`
 * is `github.com/OWNER/REPO`, and github.com paths are lower-cased because GitHub ignores the case of
 * owner and repository names; other hosts and local paths keep their case (a file system may not).
 */
export function repositoryKey(url: string): string {
  const github = parseGitHubSpec(url.trim());
  const key = github ? `${GITHUB_HOST}/${github.owner}/${github.repo}` : legacyRepositoryKey(url);
  return key.startsWith(`${GITHUB_HOST}/`) ? key.toLowerCase() : key;
}

const GITHUB_HOST = 'github.com';

/**
 * The key before `github:` specs and GitHub's case were folded in. Promotions started before the
 * `lock-id-in-state` patch keep addressing their environment locks with it, so a worker upgrade in
 * the middle of a run never sends its release to a different lock than the one it queued on.
 */
export function legacyRepositoryKey(url: string): string {
  let rest = url.trim();
  let host = '';
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (scheme) {
    rest = rest.slice(scheme[0].length);
    if (scheme[1]?.toLowerCase() !== 'file') {
      const slash = rest.indexOf('/');
      const authority = slash === -1 ? rest : rest.slice(0, slash);
      rest = slash === -1 ? '' : rest.slice(slash);
      // user@host:port → host; the port is part of how it is reached, not which repository it is.
      host = authority.replace(/^[^@]*@/, '').replace(/:\d+$/, '');
    }
  } else {
    const scp = /^(?:[^@/:]+@)?([^/:]+):(?!\/\/)(.*)$/.exec(rest);
    if (scp?.[1] && scp[1].length > 1) {
      host = scp[1];
      rest = `/${scp[2] ?? ''}`;
    }
  }
  const path = rest
    .replace(/\/+/g, '/')
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
  return host ? `${host.toLowerCase()}${path.startsWith('/') ? '' : '/'}${path}` : path;
}
