import type { EnvironmentState, PromotionState, TagValue } from '../common/types.js';
import { quorumText } from '../common/approval-policy.js';
import { waitingDiffSection } from './diff-view.js';
import { printableDeep } from './printable.js';

function tags(value: TagValue | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([app, tag]) => `${app}=${tag}`)
    .join(' ');
}

/** What an environment's tags did: `1.4.0 → 1.5.0`, or the tag alone when it did not change. */
export function tagChangeText(env: EnvironmentState): string {
  return env.previousTag && tags(env.previousTag) !== tags(env.tag)
    ? `${tags(env.previousTag)} → ${tags(env.tag)}`
    : tags(env.tag);
}

/** Where a manual environment's proposal can be looked at, while it matters (not once landed or dropped). */
export function proposalText(env: EnvironmentState): string | undefined {
  const proposal = env.proposal;
  if (!proposal || proposal.phase === 'landed' || proposal.phase === 'dropped') return undefined;
  const where = proposal.url ?? `branch ${proposal.branch}`;
  return `proposal ${where}${proposal.reason ? ` (rebuilt: ${proposal.reason})` : ''}`;
}

/** A compensation that gave up: who or what gave up, and what a person must still do. */
export function compensationText(env: EnvironmentState): string | undefined {
  const c = env.compensation;
  if (!c?.left) return undefined;
  const who = c.abandoned
    ? `abandoned by ${c.abandoned.by} ("${c.abandoned.reason}")`
    : `gave up after retrying${c.error ? `: ${c.error.split('\n')[0]}` : ''}`;
  return `${c.step} ${who}; left for a person: ${c.left}`;
}

function envLine(env: EnvironmentState): string {
  const change = tagChangeText(env);
  const parts = [`  ${env.name.padEnd(12)} ${env.status.padEnd(17)} ${change}`];
  if (env.commit) parts.push(`commit ${env.commit.slice(0, 12)}`);
  const proposal = proposalText(env);
  if (proposal) parts.push(proposal);
  if (env.decision) {
    parts.push(
      `${env.decision.approved ? 'approved' : 'rejected'} by ${env.decision.by}${env.decision.comment ? ` ("${env.decision.comment}")` : ''}`,
    );
  } else if (env.status === 'waiting-approval') {
    parts.push(`approvers: ${env.approvers?.join(', ') ?? 'anyone'}`);
    const quorum = quorumText(env);
    if (quorum) parts.push(quorum);
  }
  if (env.supersededBy) parts.push(`superseded by ${env.supersededBy}`);
  if (env.queuedBehind) parts.push(`queued behind ${env.queuedBehind}`);
  if (env.status === 'waiting-window' && env.window) parts.push(env.window.details);
  if (env.revertCommit)
    parts.push(`reverted in ${env.revertCommit.slice(0, 12)}${env.rolledBack ? ', rolled back' : ''}`);
  const line = parts.join('  ·  ');
  const left = compensationText(env);
  if (left) return `${line}\n${' '.repeat(15)}${left}`;
  return env.error && env.status !== 'rejected'
    ? `${line}\n${' '.repeat(15)}${env.error.split('\n')[0]}`
    : line;
}

/** The human rendering of `promote status`, with the diff of an environment waiting for approval. */
export function renderStatus(shown: PromotionState, options: { color?: boolean } = {}): string {
  // Names, reasons, errors and diffs come from outside: none may drive the terminal.
  const state = printableDeep(shown);
  const apps = state.apps.map((a) => `${a.app}=${a.tag}`).join(', ');
  const lines = [`${state.id}: ${state.status}${apps ? `  (${apps})` : ''}`];
  lines.push(...state.environments.map(envLine));
  if (state.error && state.environments.length === 0) lines.push(`  ${state.error}`);
  lines.push(...waitingDiffSection(state, options));
  return lines.join('\n');
}
