import type { Decision, EnvironmentState } from './types.js';

/**
 * Approval policies (issue 19): who may approve, how many distinct people must, and that the person
 * who started a promotion does not approve it alone. Pure and deterministic: shared by the workflow,
 * its update validator and the clients.
 */

/** An environment's `approvers` with group names (promote.yaml `approverGroups`) replaced by their people. */
export function expandApprovers(
  approvers: readonly string[] | undefined,
  groups: Readonly<Record<string, readonly string[]>> | undefined,
): string[] | undefined {
  if (!approvers) return undefined;
  const people = approvers.flatMap((name) => groups?.[name] ?? [name]);
  return [...new Set(people)];
}

/** The identities that started a promotion: none of them may approve it unless self-approval is allowed. */
export function requesterIdentities(state: { requestedBy?: string; ciActor?: string }): string[] {
  return [state.requestedBy, state.ciActor].filter((who): who is string => !!who && who.trim() !== '');
}

/** Why `by` may not approve `env` on its own promotion, if so. */
export function selfApprovalProblem(
  env: Pick<EnvironmentState, 'name' | 'allowSelfApproval'>,
  state: { requestedBy?: string; ciActor?: string },
  by: string,
): string | undefined {
  if (env.allowSelfApproval) return undefined;
  const own = requesterIdentities(state).find((who) => who === by);
  if (!own) return undefined;
  return `${by} started this promotion and may not approve it: someone else must approve ${env.name} (set allowSelfApproval: true on ${env.name} in promote.yaml to allow it)`;
}

/** The decisions that count now: those on the commit currently proposed (a rebuilt proposal starts afresh). */
export function currentDecisions(env: Pick<EnvironmentState, 'decisions' | 'commit'>): Decision[] {
  return (env.decisions ?? []).filter((d) => d.commit === undefined || d.commit === env.commit);
}

/** Distinct people who approved the current commit. */
export function approvedBy(env: Pick<EnvironmentState, 'decisions' | 'commit'>): string[] {
  return [
    ...new Set(
      currentDecisions(env)
        .filter((d) => d.approved)
        .map((d) => d.by),
    ),
  ];
}

/** Approvals needed (at least one). */
export function quorumOf(env: Pick<EnvironmentState, 'minApprovals'>): number {
  return Math.max(1, env.minApprovals ?? 1);
}

/** "1 of 2 approvals (alice)" while a quorum is being gathered; undefined when one approval suffices. */
export function quorumText(
  env: Pick<EnvironmentState, 'decisions' | 'commit' | 'minApprovals'>,
): string | undefined {
  const needed = quorumOf(env);
  if (needed <= 1) return undefined;
  const people = approvedBy(env);
  return `${people.length} of ${needed} approvals${people.length ? ` (${people.join(', ')})` : ''}`;
}

/** What an environment's state records of its policy (only what differs from the defaults). */
export function approvalPolicy(
  env: { approvers?: string[]; minApprovals?: number; allowSelfApproval?: boolean },
  config: { approverGroups?: Record<string, string[]> },
): Pick<EnvironmentState, 'approvers' | 'minApprovals' | 'allowSelfApproval'> {
  const approvers = expandApprovers(env.approvers, config.approverGroups);
  return {
    ...(approvers ? { approvers } : {}),
    ...(env.minApprovals !== undefined && env.minApprovals > 1 ? { minApprovals: env.minApprovals } : {}),
    ...(env.allowSelfApproval ? { allowSelfApproval: true } : {}),
  };
}
