import type { PromotionRequest } from '../common/types.js';

/*
 * What a promotion's start carries besides its request, shared by the SDK path (promotions.ts) and the
 * light path (light.ts) so both start the same workflow: same search attribute values, same summary.
 */

/** The PromoteApps values: each app, and each app=tag (what `promote block` looks promotions up by). */
export function promoteAppsValues(request: PromotionRequest): string[] {
  return request.rollback
    ? [request.rollback.app]
    : [...request.apps.map((a) => a.app), ...request.apps.map((a) => `${a.app}=${a.tag}`)];
}

export function promotionSummary(request: PromotionRequest): string {
  if (request.rollback) {
    const { app, env, toTag } = request.rollback;
    return `roll back ${app} in ${env}${toTag ? ` to ${toTag}` : ' to its previous tag'}`;
  }
  const apps = request.apps.map((a) => `${a.app}=${a.tag}`).join(', ');
  const where = request.only
    ? `only ${request.only}`
    : request.to
      ? `up to ${request.to}`
      : 'all environments';
  return `${apps} → ${where}${request.force ? ' (forced)' : ''}`;
}
