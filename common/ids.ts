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
