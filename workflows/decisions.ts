import {
  ApplicationFailure,
  patched,
  proxyActivities,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { PromoteConfig } from '../config/schema.js';
import { DEFAULT_ALLOWED_SIGNERS, parseStatement, statementMismatch } from '../common/approval-statement.js';
import { approvedBy, quorumOf, quorumText, selfApprovalProblem } from '../common/approval-policy.js';
import type {
  AbandonInput,
  Decision,
  DecisionInput,
  EnvironmentState,
  PromotionState,
} from '../common/types.js';
import { failureMessage, now } from './values.js';
import { TIMEOUTS } from './timeouts.js';

/**
 * Approvals and rejections arriving by Update or signal, and `promote abandon`: the checks that refuse
 * them and how an accepted one joins the state. Used by the handlers in promotion-state.ts.
 */

const { verifyApprovalSignature } = proxyActivities<Activities>(TIMEOUTS.git);

/** Slack clicks remembered per promotion to refuse replays: bounded, the oldest forgotten first. */
const MAX_SEEN_ACTIONS = 500;

/** Workflow handlers apply approval policies from the patch on; the update validator always does. */
export const policiesApply = () => patched('approval-policies');

const envOf = (state: PromotionState, name: string) => state.environments.find((e) => e.name === name);
const actionKey = (actionId: string, commit: string | undefined) => `${actionId}@${commit ?? ''}`;

function unknownEnvironment(state: PromotionState, name: string): string {
  return `unknown environment "${name}": this promotion covers ${state.environments.map((e) => e.name).join(', ') || 'no environment yet'}`;
}

/**
 * Why a decision is refused, or undefined. `requireCommit`: an approval of an environment that
 * proposes must name the proposal commit it approves, so nobody approves a proposal they were not
 * shown (the CLI and Slack always send it).
 */
export function decisionProblem(
  state: PromotionState,
  input: DecisionInput,
  requireCommit = false,
  policies: () => boolean = () => true,
): string | undefined {
  const env = envOf(state, input.env);
  if (!env) return unknownEnvironment(state, input.env);
  if (env.decision) {
    return `${env.name} was already ${env.decision.approved ? 'approved' : 'rejected'} by ${env.decision.by}`;
  }
  if (env.status !== 'waiting-approval')
    return `${env.name} is not waiting for approval (it is ${env.status})`;
  // A decision names what it decides: the full commit, or an unambiguous prefix of it.
  if (input.commit && !(input.commit.length >= 7 && env.commit?.startsWith(input.commit))) {
    const rebuilt = env.proposal?.reason ? ` (the proposal was rebuilt: ${env.proposal.reason})` : '';
    return `this approval request is stale: it names ${input.commit.slice(0, 12)}, but ${env.name} now proposes ${env.commit?.slice(0, 12) ?? 'nothing'}${rebuilt}; review the new diff and decide again`;
  }
  if (requireCommit && input.approved && env.proposal && !input.commit) {
    return `an approval of ${env.name} must name the proposal commit it approves (${env.commit?.slice(0, 12) ?? 'not made yet'}): see \`promote status\``;
  }
  // A signed decision's approver is its verified principal, checked once the signature is.
  if (!input.signed && env.approvers && !env.approvers.includes(input.by)) {
    return `${input.by} may not decide for ${env.name}: its approvers are ${env.approvers.join(', ')}`;
  }
  if (!input.approved && !input.comment?.trim()) return 'a rejection needs a reason';
  if (input.actionId && state.seenActions?.includes(actionKey(input.actionId, input.commit)))
    return 'this Slack action was already used (a replayed request); nothing was changed';
  // Approval policies: `policies` is asked only when a check would bite, so histories recorded
  // before them (where such an approval was taken) replay as they ran.
  if (input.approved) {
    const self = selfApprovalProblem(env, state, input.by);
    if (self && policies()) return self;
    if (approvedBy(env).includes(input.by) && policies()) {
      return `${input.by} already approved ${env.name}: it needs ${quorumOf(env)} approvals from distinct people (${quorumText(env) ?? ''})`;
    }
  }
  return signedProblem(input, env);
}

/** `signedApprovals: required` refuses unsigned decisions; a signed one must be about this very decision. */
function signedProblem(input: DecisionInput, env: EnvironmentState): string | undefined {
  if (!input.signed) {
    return env.signedApprovals === 'required'
      ? `${env.name} requires signed approvals: decide with \`promote ${input.approved ? 'approve' : 'reject'} … --sign-key <ssh key>\``
      : undefined;
  }
  const statement = parseStatement(input.signed.statement);
  if (typeof statement === 'string') return statement;
  return statementMismatch(statement, {
    promotion: workflowInfo().workflowId,
    run: workflowInfo().runId,
    env: env.name,
    commit: env.commit,
    approved: input.approved,
    nowMs: Date.now(),
  });
}

const refuse = (message: string) =>
  ApplicationFailure.create({ message, type: 'InvalidDecision', nonRetryable: true });

/**
 * A signed decision counts only once its signature verifies against allowed_signers as of the
 * deployment branch commit the proposal was built on (never the proposal's own copy); the approver
 * is the key's principal, whatever name the caller sent.
 */
export async function recordSigned(
  state: PromotionState,
  config: PromoteConfig | undefined,
  input: DecisionInput & { signed: NonNullable<DecisionInput['signed']> },
  gathered?: Gathered,
): Promise<Decision> {
  const env = envOf(state, input.env);
  const base = env?.proposal?.base ?? state.configCommit;
  // The environment exists only once promote.yaml is loaded: `config` is there with it.
  if (!env || !base || !config)
    throw refuse(`${input.env} has no deployment branch commit to verify the signature against`);
  let principal: string;
  try {
    ({ principal } = await verifyApprovalSignature({
      repo: state.repo,
      branch: config.branch,
      base,
      allowedSigners: config.allowedSigners ?? DEFAULT_ALLOWED_SIGNERS,
      statement: input.signed.statement,
      signature: input.signed.signature,
    }));
  } catch (error) {
    throw refuse(`signed decision refused: ${failureMessage(error)}`);
  }
  // Re-checked: another decision may have been accepted while the signature was verified.
  const problem = decisionProblem(state, input);
  if (problem) throw refuse(problem);
  if (env.approvers && !env.approvers.includes(principal))
    throw refuse(
      `${principal} (the signing key's principal) may not decide for ${env.name}: its approvers are ${env.approvers.join(', ')}`,
    );
  // The policies hold for the proven approver, not the name the caller sent.
  if (input.approved) {
    const self = selfApprovalProblem(env, state, principal);
    if (self && policiesApply()) throw refuse(self);
    if (approvedBy(env).includes(principal) && policiesApply())
      throw refuse(`${principal} already approved ${env.name}: approvals must come from distinct people`);
  }
  return recordDecision(
    state,
    { ...input, by: principal },
    { via: 'ssh-signature', principal, signature: input.signed, base },
    gathered,
  );
}

/**
 * An approval that did not complete the quorum was recorded: the announcer shows the partial count
 * (announcer.approvals). Absent until promote.yaml is loaded; no environment exists before then.
 */
export type Gathered = (env: EnvironmentState) => void;

/** Every decision joins the audit trail; an approval ends the wait only once the quorum is reached. */
export function recordDecision(
  state: PromotionState,
  input: DecisionInput,
  proof: Partial<Decision> = {},
  gathered?: Gathered,
): Decision {
  const env = envOf(state, input.env);
  const decision: Decision = {
    approved: input.approved,
    by: input.by,
    at: now(),
    ...(input.comment ? { comment: input.comment } : {}),
    via: input.via ?? 'cli-declared',
    ...(env?.commit ? { commit: env.commit } : {}),
    ...proof,
  };
  if (input.actionId) {
    const seen = [...(state.seenActions ?? []), actionKey(input.actionId, input.commit)];
    state.seenActions = seen.slice(-MAX_SEEN_ACTIONS);
  }
  if (!env) return decision;
  env.decisions = [...(env.decisions ?? []), decision];
  const gathering =
    decision.approved && approvedBy(env).length < quorumOf(env) && patched('approval-policies');
  if (gathering) {
    setCurrentDetails(`waiting for approval in ${env.name}: ${quorumText(env) ?? ''}`);
    gathered?.(env);
  } else env.decision = decision;
  return decision;
}

export function abandonProblem(state: PromotionState, input: AbandonInput): string | undefined {
  const env = envOf(state, input.env);
  if (!env) return unknownEnvironment(state, input.env);
  if (!input.by?.trim()) return 'abandoning needs a name: who gives up (--as)';
  if (!input.reason?.trim()) return 'abandoning needs a reason (--reason)';
  const compensation = env.compensation;
  if (!compensation || compensation.endedAt)
    return `${env.name} is not compensating (it is ${env.status}): there is nothing to abandon`;
  if (compensation.abandoned)
    return `${env.name}'s compensation was already abandoned by ${compensation.abandoned.by}`;
  return undefined;
}
