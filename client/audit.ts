import type { Decision, DecisionVia, PromotionState } from '../common/types.js';
import { printableDeep } from './printable.js';

/**
 * `promote audit ID`: every approval and rejection of a promotion, per environment, with how each
 * decider's identity was established. Signed decisions are re-verified through `verifiers`, keyed by
 * `via`: the extension point for signatures (e.g. `ssh-signature` against the `allowed_signers` of the
 * decided commit), which plug in without changing the trail's shape.
 */

export interface AuditVerification {
  /** `verified`: proven now (e.g. a signature checked); `declared`: taken as given; `failed`: did not check. */
  result: 'verified' | 'declared' | 'failed';
  detail: string;
}

export interface AuditEntry extends Decision {
  via: DecisionVia;
  verification: AuditVerification;
}

export interface AuditTrail {
  id: string;
  status: PromotionState['status'];
  requestedBy?: string;
  ciActor?: string;
  environments: { env: string; status: string; decisions: AuditEntry[] }[];
  /** `promote approve --override-window`: who let a closed environment deploy, and why. */
  windowOverrides?: PromotionState['windowOverrides'];
}

export type DecisionVerifier = (
  decision: Decision,
  context: { state: PromotionState; env: string },
) => Promise<AuditVerification> | AuditVerification;

/** How each kind of decision is accounted for when nothing proves it cryptographically. */
const DEFAULT_VERIFIERS: Partial<Record<DecisionVia, DecisionVerifier>> = {
  'cli-declared': () => ({
    result: 'declared',
    detail: 'name declared by the client (--as / PROMOTE_USER): not proven',
  }),
  slack: () => ({
    result: 'declared',
    detail: 'Slack user mapped to this name by promote.yaml notifications.slack.users',
  }),
  // Read from GitHub by a worker when it was counted; shown with where to see it again.
  'github-review': (decision) => ({
    result: 'declared',
    detail: decision.review
      ? `GitHub review ${decision.review.id} by ${decision.review.login} on pull request #${decision.review.pullRequest}${decision.review.url ? ` (${decision.review.url})` : ''}, read from GitHub by the worker`
      : 'GitHub review (no review recorded)',
  }),
};

export async function auditTrail(
  state: PromotionState,
  verifiers: Partial<Record<DecisionVia, DecisionVerifier>> = {},
): Promise<AuditTrail> {
  const all = { ...DEFAULT_VERIFIERS, ...verifiers };
  const environments = [];
  for (const env of state.environments) {
    // Runs recorded before the audit trail kept only the final decision.
    const decisions = env.decisions ?? (env.decision ? [env.decision] : []);
    const entries: AuditEntry[] = [];
    for (const decision of decisions) {
      const via = decision.via ?? 'cli-declared';
      const verify = all[via];
      const verification = verify
        ? await verify(decision, { state, env: env.name })
        : { result: 'failed' as const, detail: `no verifier for ${via} decisions in this client` };
      entries.push({ ...decision, via, verification });
    }
    environments.push({ env: env.name, status: env.status, decisions: entries });
  }
  return {
    id: state.id,
    status: state.status,
    ...(state.requestedBy ? { requestedBy: state.requestedBy } : {}),
    ...(state.ciActor ? { ciActor: state.ciActor } : {}),
    environments,
    ...(state.windowOverrides?.length ? { windowOverrides: state.windowOverrides } : {}),
  };
}

export function renderAudit(shown: AuditTrail): string {
  const trail = printableDeep(shown);
  const started = [
    trail.requestedBy && `requested by ${trail.requestedBy}`,
    trail.ciActor && `CI actor ${trail.ciActor}`,
  ]
    .filter(Boolean)
    .join(', ');
  const lines = [`${trail.id}: ${trail.status}${started ? `  (${started})` : ''}`];
  for (const env of trail.environments) {
    lines.push(`  ${env.env} (${env.status})`);
    if (env.decisions.length === 0) lines.push('    no decisions');
    for (const d of env.decisions) {
      const what = d.approved ? 'approved' : 'rejected';
      const commit = d.commit ? ` at ${d.commit.slice(0, 12)}` : '';
      const comment = d.comment ? ` ("${d.comment}")` : '';
      lines.push(
        `    ${d.at}  ${what} by ${d.by} via ${d.via}${commit}${comment}  [${d.verification.result}: ${d.verification.detail}]`,
      );
    }
    for (const o of trail.windowOverrides ?? []) {
      if (o.env === env.env) lines.push(`    ${o.at}  window overridden by ${o.by} ("${o.reason}")`);
    }
  }
  return lines.join('\n');
}

/** Exit code of `promote audit`: 1 when a decision failed verification. */
export function auditFailed(trail: AuditTrail): boolean {
  return trail.environments.some((e) => e.decisions.some((d) => d.verification.result === 'failed'));
}
