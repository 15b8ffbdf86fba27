import type { ActionsBlock, ContextBlock, KnownBlock, SectionBlock } from '@slack/types';
import type { Announcement } from '../notifier.js';
import type { AppRequest, EnvironmentStatus } from '../../common/types.js';

/** A message as Slack takes it: Block Kit plus the plain text shown in notifications and screen readers. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** Where links point: the Temporal Web UI page of a promotion. */
export interface Links {
  promotion(id: string): string | undefined;
}

/** What an Approve/Reject button carries: the promotion, the environment and the proposal it was shown. */
export interface ApprovalButtonValue {
  id: string;
  env: string;
  commit: string;
}

export const APPROVE_ACTION = 'promote_approve';
export const REJECT_ACTION = 'promote_reject';
export const REJECT_VIEW = 'promote_reject_reason';
export const APPROVAL_BLOCK = 'promote_approval';

const STATUS_ICON: Record<EnvironmentStatus, string> = {
  pending: '⚪',
  queued: '⏳',
  bumping: '🔄',
  diffing: '🔄',
  'waiting-approval': '✋',
  applying: '🚀',
  succeeded: '✅',
  failed: '❌',
  rejected: '🚫',
  skipped: '⏭️',
  superseded: '⤴️',
  reverted: '↩️',
  'compensation-failed': '🚨',
  blocked: '⛔',
  'waiting-window': '🕘',
  soaking: '🧪',
};

/**
 * Slack's mrkdwn treats &, < and > as markup (`<!channel>`, `<@U123>`, `<url|label>`): escape anything
 * that came from outside, as Slack's "Escaping text" rules ask. Only these three are escaped.
 */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const short = (commit: string) => commit.slice(0, 12);

/** Slack refuses a section over 3,000 characters (invalid_blocks); a reason's first lines say enough. */
function clip(text: string, limit = 600): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** A source revision's page, for the usual forges' `https://host/owner/repo` URLs. */
function sourceLink(source: AppRequest['source']): string | undefined {
  // `<`, `>` and `|` would end the link early and let the rest of the URL be markup (`<!channel>`).
  if (!source || !/^https:\/\/[^\s@<>|]+$/.test(source.repo)) return undefined;
  const url = `${source.repo.replace(/\.git$/, '')}/commit/${encodeURIComponent(source.ref)}`;
  return `<${escape(url)}|${escape(source.ref.slice(0, 12))}>`;
}

/** `api 1.4.0 → *1.5.0*`: only apps whose tag changes are highlighted; the others read as unchanged. */
function appLine(a: Announcement['apps'][number], sources: AppRequest[] | undefined): string {
  if (!a.previousTag) return `\`${escape(a.app)}\` ${escape(a.tag)} (unchanged)`;
  const source = sourceLink(sources?.find((s) => s.app === a.app)?.source);
  return `\`${escape(a.app)}\` ${escape(a.previousTag)} → *${escape(a.tag)}*${source ? ` (${source})` : ''}`;
}

function appsText(a: Announcement): string {
  return a.apps.map((x) => appLine(x, a.promotion?.apps)).join(', ');
}

function plainApps(a: Announcement): string {
  return a.apps.map((x) => `${x.app} ${x.previousTag ? `${x.previousTag} → ` : ''}${x.tag}`).join(', ');
}

function section(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function context(text: string): ContextBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text }] };
}

function compensation(a: Announcement): string | undefined {
  const parts = [
    ...(a.revertCommit ? [`bump reverted in \`${short(a.revertCommit)}\``] : []),
    ...(a.rolledBack ? ['deployment rolled back'] : []),
  ];
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** The promotion's own message: apps, tags, sources, environments and their state, a link to the run. */
export function rootMessage(a: Announcement, links: Links): SlackMessage {
  const summary = a.promotion;
  const verb = summary?.kind === 'rollback' ? 'Rollback' : 'Promotion';
  const apps = (summary?.apps ?? a.apps).map((x) => {
    const source = sourceLink('source' in x ? x.source : undefined);
    return `\`${escape(x.app)}\` *${escape(x.tag)}*${source ? ` (${source})` : ''}`;
  });
  const envs = (summary?.environments ?? []).map((e) => `${STATUS_ICON[e.status]} ${escape(e.name)}`);
  const status = summary?.status ?? 'running';
  const link = links.promotion(a.promotionId);
  const meta = [
    `*${status}*`,
    ...(summary?.requestedBy ? [`requested by ${escape(summary.requestedBy)}`] : []),
    link ? `<${escape(link)}|${escape(a.promotionId)}>` : `\`${escape(a.promotionId)}\``,
  ];
  return {
    // The fallback text is mrkdwn too (notifications, screen readers): escaped like the blocks.
    text: escape(`${verb} ${a.apps.map((x) => `${x.app}=${x.tag}`).join(', ')}: ${status}`),
    blocks: [section(`*${verb}* ${apps.join(', ')}\n${envs.join('  →  ')}`), context(meta.join(' · '))],
  };
}

function approvalButtons(a: Announcement): ActionsBlock {
  const value: ApprovalButtonValue = { id: a.promotionId, env: a.env, commit: a.commit ?? '' };
  return {
    type: 'actions',
    block_id: APPROVAL_BLOCK,
    elements: [
      {
        type: 'button',
        action_id: APPROVE_ACTION,
        style: 'primary',
        text: { type: 'plain_text', text: 'Approve' },
        value: JSON.stringify(value),
      },
      {
        type: 'button',
        action_id: REJECT_ACTION,
        style: 'danger',
        text: { type: 'plain_text', text: 'Reject' },
        value: JSON.stringify(value),
      },
    ],
  };
}

/** A thread reply for one environment event. */
export function eventMessage(a: Announcement): SlackMessage {
  const env = `*${escape(a.env)}*`;
  const commit = a.commit ? ` at \`${short(a.commit)}\`` : '';
  const detail = a.detail ? escape(clip(a.detail)) : '';
  const undone = compensation(a);
  const rollback = a.promotion?.kind === 'rollback' || a.detail === 'rollback';
  const lines: Record<Announcement['outcome'], [string, string]> = {
    promotion: ['', ''],
    started: [`🔄 ${env}: deploying ${appsText(a)}${commit}`, `Deploying ${plainApps(a)} in ${a.env}`],
    'waiting-approval': [
      `✋ ${env} waits for approval of ${appsText(a)}${commit}` +
        (a.approvers ? `\nApprovers: ${a.approvers.map(escape).join(', ')}` : ''),
      `${a.env} waits for approval of ${plainApps(a)}`,
    ],
    'waiting-window': [
      `🕘 ${detail || `${env} waits for its window`}`,
      a.detail ?? `${a.env} waits for its window`,
    ],
    soaking: [`🧪 ${detail || `${env} soaks`}`, a.detail ?? `${a.env} soaks`],
    // The same request, updated in place as approvals arrive (see `approvalsLine`).
    approvals: [
      `✋ ${env} waits for approval of ${appsText(a)}${commit}` +
        (a.approvers ? `\nApprovers: ${a.approvers.map(escape).join(', ')}` : ''),
      `${a.env} waits for approval of ${plainApps(a)}`,
    ],
    deployed: rollback
      ? [`↩️ ${env}: rolled back to ${appsText(a)}${commit}`, `Rolled back ${plainApps(a)} in ${a.env}`]
      : [`✅ ${env}: deployed ${appsText(a)}${commit}`, `Deployed ${plainApps(a)} in ${a.env}`],
    failed: [
      `❌ ${env}: failed to deploy ${appsText(a)}${detail ? `: ${detail}` : ''}`,
      `Failed to deploy ${plainApps(a)} in ${a.env}`,
    ],
    rejected: [`🚫 ${env}: ${detail || 'rejected'}`, `Rejected ${plainApps(a)} in ${a.env}`],
    superseded: [`⤴️ ${env}: ${detail || 'superseded'}`, `Superseded ${plainApps(a)} in ${a.env}`],
    cancelled: [`⏹️ ${env}: cancelled`, `Cancelled ${plainApps(a)} in ${a.env}`],
    'rolled-back': [
      `↩️ ${env}: rolled back ${appsText(a)}${detail ? `: ${detail}` : ''}`,
      `Rolled back ${plainApps(a)} in ${a.env}`,
    ],
    repaired: [
      `🔧 ${env}: repaired ${appsText(a)}${detail ? `: ${detail}` : ''}`,
      `Repaired ${plainApps(a)} in ${a.env}`,
    ],
    drift: [
      `⚠️ ${env}: drift found${detail ? `: ${detail}` : ''}`,
      `Drift found in ${a.env}${a.detail ? `: ${a.detail}` : ''}`,
    ],
    // An alert, not a report: the environment was released with this promotion's change still in it.
    'compensation-failed': [
      `🚨 ${env}: could not undo ${appsText(a)}; the environment is released. Left for a person: ${detail || 'see promote status'}`,
      `Action needed in ${a.env}: could not undo ${plainApps(a)}`,
    ],
  };
  const [markdown, plain] = lines[a.outcome];
  // The fallback text is mrkdwn too (notifications, screen readers): escaped like the blocks.
  const text = escape(plain);
  const blocks: KnownBlock[] = [section(markdown)];
  if (a.outcome === 'started' && a.detail) blocks.push(section(`\`\`\`${detail}\`\`\``));
  if (undone) blocks.push(context(`Compensated: ${undone}`));
  if (a.outcome === 'waiting-approval' || a.outcome === 'approvals') {
    if (a.approvals) blocks.push(approvalsLine(a.approvals));
    blocks.push(approvalButtons(a));
  }
  return { text, blocks };
}

/** Who approved so far while a quorum is gathered: a context line of the request, buttons kept. */
export const APPROVALS_BLOCK = 'promote-approvals';
function approvalsLine(text: string): KnownBlock {
  return { ...context(`🗳️ ${escape(text)}`), block_id: APPROVALS_BLOCK };
}

/** A request with its approvals line replaced (the Slack receiver, after a partial approval): buttons stay. */
export function withApprovals(request: SlackMessage, text: string): SlackMessage {
  const kept = request.blocks.filter((b) => (b as { block_id?: string }).block_id !== APPROVALS_BLOCK);
  const at = kept.findIndex((b) => b.type === 'actions');
  const blocks = [...kept];
  blocks.splice(at < 0 ? blocks.length : at, 0, approvalsLine(text));
  return { text: request.text, blocks };
}

/** An approval request once decided: the buttons give way to who decided and how. */
export function decidedMessage(request: SlackMessage, outcome: string): SlackMessage {
  const kept = request.blocks.filter((b) => b.type !== 'actions');
  return { text: `${request.text}: ${outcome}`, blocks: [...kept, context(outcome)] };
}

/** The decision text for an approval message, the same whether the decision came from Slack or the CLI. */
export function decisionLine(approved: boolean, by: string, comment?: string): string {
  return approved ? `✅ Approved by ${by}` : `🚫 Rejected by ${by}${comment ? `: ${escape(comment)}` : ''}`;
}

/** The outcome line for an approval message whose decision the workflow reports. */
export function outcomeLine(a: Announcement): string {
  if (!a.decidedBy) return `Closed: ${a.outcome}`;
  const by = a.decidedBySlackId ? `<@${a.decidedBySlackId}>` : escape(a.decidedBy);
  return decisionLine(a.outcome !== 'rejected', by, a.decisionComment);
}
