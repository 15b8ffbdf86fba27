import type { EnvironmentState, PromotionState } from '../common/types.js';
import { quorumText } from '../common/approval-policy.js';
import { compensationText, proposalText, tagChangeText } from './render.js';

/** `1m05s`, `2h03m`, `12s`: short enough to sit in a progress line. */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, '0')}h`;
}

const MARK: Record<EnvironmentState['status'], string> = {
  pending: ' ',
  queued: '…',
  bumping: '›',
  diffing: '›',
  'waiting-approval': '?',
  applying: '›',
  succeeded: '✓',
  skipped: '=',
  failed: '✗',
  rejected: '✗',
  superseded: '↷',
  reverted: '↺',
  'compensation-failed': '!',
  blocked: '⊘',
  'waiting-window': '◷',
  soaking: '~',
};

function elapsed(env: EnvironmentState, now: number): string {
  if (!env.startedAt) return '';
  const end = env.finishedAt ? Date.parse(env.finishedAt) : now;
  return formatElapsed(end - Date.parse(env.startedAt));
}

/** What a person should know about an environment beyond its step: the command to run, the compensation done. */
export function envNotes(id: string, env: EnvironmentState): string[] {
  const notes: string[] = [];
  const change = tagChangeText(env);
  if (change) notes.push(change);
  if (env.status === 'waiting-approval') {
    notes.push(
      `approve: promote approve ${id} --env ${env.name}` +
        (env.proposal && env.commit ? ` --commit ${env.commit.slice(0, 12)}` : '') +
        (env.approvers ? ` --as <${env.approvers.join('|')}>` : ''),
    );
  }
  const quorum = env.status === 'waiting-approval' ? quorumText(env) : undefined;
  if (quorum) notes.push(quorum);
  const proposal = proposalText(env);
  if (proposal) notes.push(proposal);
  if (env.queuedBehind) notes.push(`queued behind ${env.queuedBehind}`);
  if (env.decision) notes.push(`${env.decision.approved ? 'approved' : 'rejected'} by ${env.decision.by}`);
  if (env.supersededBy) notes.push(`superseded by ${env.supersededBy}`);
  if (env.revertCommit)
    notes.push(
      `reverted in ${env.revertCommit.slice(0, 12)}${env.rolledBack ? ', deployment rolled back' : ''}`,
    );
  const left = compensationText(env);
  if (left) notes.push(left);
  else if (env.error && env.status !== 'rejected' && env.decision?.approved !== false)
    notes.push(env.error.split('\n')[0] ?? '');
  return notes;
}

/** One line per environment; the elapsed time is left out when `withElapsed` is false (change detection). */
export function envProgressLine(id: string, env: EnvironmentState, now: number, withElapsed = true): string {
  const time = withElapsed ? elapsed(env, now).padStart(7) : '';
  return [
    `${MARK[env.status]} ${env.name.padEnd(12)} ${env.status.padEnd(16)}${time}`,
    ...envNotes(id, env),
  ].join('  ');
}

export function headerLine(state: PromotionState, now: number): string {
  const apps = state.apps.map((a) => `${a.app}=${a.tag}`).join(', ');
  const end = state.finishedAt ? Date.parse(state.finishedAt) : now;
  return `${state.id}: ${state.status}${apps ? `  (${apps})` : ''}  ${formatElapsed(end - Date.parse(state.startedAt))}`;
}

/** The whole progress block, as redrawn on a terminal. */
export function progressBlock(state: PromotionState, now: number): string[] {
  const lines = [
    headerLine(state, now),
    ...state.environments.map((e) => `  ${envProgressLine(state.id, e, now)}`),
  ];
  if (state.error && state.environments.every((e) => !e.error))
    lines.push(`  ${state.error.split('\n')[0] ?? ''}`);
  return lines;
}
