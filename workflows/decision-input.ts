import { SIGNED_LIMITS } from '../common/approval-statement.js';
import type { DecisionVia } from '../common/types.js';

/** What a client may claim about how `by` was established; the proven kinds are set by the workflow. */
const CLAIMABLE_VIAS: readonly DecisionVia[] = ['cli-declared', 'slack'];
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
  const { env, approved, by, comment, commit, signed, actionId, via } = input as Record<string, unknown>;
  if (typeof env !== 'string' || env === '') return 'env must be a string naming an environment';
  if (typeof approved !== 'boolean') return 'approved must be true or false (a boolean, not a string)';
  if (typeof by !== 'string' || by.trim() === '') return 'by must be a non-empty string';
  if (comment !== undefined && typeof comment !== 'string') return 'comment must be a string';
  if (commit !== undefined && typeof commit !== 'string') return 'commit must be a string (a commit hash)';
  if (actionId !== undefined && (typeof actionId !== 'string' || actionId === '' || actionId.length > 200))
    return 'actionId must be a non-empty string of at most 200 characters';
  if (signed !== undefined) {
    const { statement, signature } = (signed ?? {}) as Record<string, unknown>;
    if (typeof statement !== 'string' || typeof signature !== 'string')
      return 'signed must be an object with statement and signature (strings)';
    if (statement.length > SIGNED_LIMITS.statement || signature.length > SIGNED_LIMITS.signature)
      return 'the signed statement or signature is too long';
  }
  if (via !== undefined && !(typeof via === 'string' && CLAIMABLE_VIAS.includes(via as DecisionVia)))
    return `via must be one of ${CLAIMABLE_VIAS.join(', ')}`;
  const sizes = { env, by, comment: comment ?? '', commit: commit ?? '' };
  for (const [field, limit] of Object.entries(DECISION_LIMITS)) {
    const length = sizes[field as keyof typeof sizes].length;
    if (length > limit) return `${field} is too long (${length} characters; at most ${limit})`;
  }
  return undefined;
}
