import { DECISION_VIAS, type DecisionVia } from '../common/types.js';
/** Bounds on what a decision may carry: it is kept in workflow state and shown in status and Slack. */
export const DECISION_LIMITS = { env: 100, by: 200, comment: 4_000, commit: 64 } as const;

/**
 * A decision as it arrives: any client of the Temporal API can send any JSON, so its fields are
 * checked by type before anything reads them (`"approved": "false"` is a string, and truthy).
 * Pure and deterministic: used by the update validator and the signal handler.
 */
export function decisionInputProblem(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return 'a decision must be an object with env, approved and by';
  const { env, approved, by, comment, commit, via } = input as Record<string, unknown>;
  if (typeof env !== 'string' || env === '') return 'env must be a string naming an environment';
  if (typeof approved !== 'boolean') return 'approved must be true or false (a boolean, not a string)';
  if (typeof by !== 'string' || by.trim() === '') return 'by must be a non-empty string';
  if (comment !== undefined && typeof comment !== 'string') return 'comment must be a string';
  if (commit !== undefined && typeof commit !== 'string') return 'commit must be a string (a commit hash)';
  if (via !== undefined && !(typeof via === 'string' && DECISION_VIAS.includes(via as DecisionVia)))
    return `via must be one of ${DECISION_VIAS.join(', ')}`;
  const sizes = { env, by, comment: comment ?? '', commit: commit ?? '' };
  for (const [field, limit] of Object.entries(DECISION_LIMITS)) {
    const length = sizes[field as keyof typeof sizes].length;
    if (length > limit) return `${field} is too long (${length} characters; at most ${limit})`;
  }
  return undefined;
}
