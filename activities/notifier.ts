import type { AppRequest, EnvironmentStatus, MessageRef, PromotionStatus } from '../common/types.js';

export type { MessageRef };

/** How an environment ended: the announcements every notifier has always received. */
export type Outcome = 'deployed' | 'failed' | 'rejected' | 'superseded' | 'cancelled';

/**
 * Everything a notifier can be told. Besides outcomes: `promotion` (the promotion's own message, posted
 * once and kept current), `started` and `waiting-approval` per environment, and `rolled-back`,
 * `repaired` and `drift` for deployers that observe the cluster.
 */
export type AnnouncementEvent =
  | Outcome
  | 'promotion'
  | 'started'
  | 'waiting-approval'
  /** The environment is closed (a window or a freeze): `detail` says until when and why. */
  | 'waiting-window'
  /** The environment soaks before the next one may start: `detail` says until when. */
  | 'soaking'
  /** An approval arrived but the quorum is not reached: the approval request is updated in place. */
  | 'approvals'
  | 'rolled-back'
  | 'repaired'
  | 'drift'
  /** An alert: compensation gave up; `detail` says what a person must still do. */
  | 'compensation-failed';

/** The promotion as a whole, for a message that summarises it. */
export interface PromotionSummary {
  kind: 'promotion' | 'rollback';
  status: PromotionStatus;
  requestedBy?: string;
  apps: AppRequest[];
  environments: { name: string; status: EnvironmentStatus }[];
}

/** What an announcement says: built from the bump commit and deploy result, never from CI variables. */
export interface Announcement {
  promotionId: string;
  /** The environment it is about; empty for the promotion's own message. */
  env: string;
  outcome: AnnouncementEvent;
  apps: { app: string; tag: string; previousTag?: string }[];
  commit?: string;
  detail?: string;
  /** Where it goes, from promote.yaml (`notifications.slack.channel`, per environment). */
  channel?: string;
  /** Messages already posted for this promotion, kept in workflow state (keys: `root:<channel>`, `approval:<env>`). */
  messages?: Record<string, MessageRef>;
  promotion?: PromotionSummary;
  /** Who may approve (waiting-approval), and the proposal a button must match. */
  approvers?: string[];
  /** What compensation did, for failed, rejected, superseded and cancelled. */
  revertCommit?: string;
  rolledBack?: boolean;
  /** While a quorum is gathered: "1 of 2 approvals (alice)", shown on the approval request. */
  approvals?: string;
  /** Who decided an approval, for replacing its buttons when the decision came from elsewhere (CLI). */
  decidedBy?: string;
  decidedBySlackId?: string;
  decisionComment?: string;
  /** helm/helmfile: releases found pending and repaired before the apply. */
  repaired?: string[];
  /** helm/helmfile: deployed tags that differed from Git before this promotion. */
  drift?: string[];
}

/** New or updated message references to keep in workflow state. */
export interface AnnounceResult {
  messages?: Record<string, MessageRef>;
}

/** The seam for Slack and other channels. */
export interface Notifier {
  announce(announcement: Announcement): Promise<AnnounceResult | void>;
}

export function announcementText(a: Announcement): string {
  const apps = a.apps.map((x) => `${x.app} ${x.previousTag ? `${x.previousTag} → ` : ''}${x.tag}`).join(', ');
  const verb = {
    promotion: 'Promoting',
    started: 'Deploying',
    'waiting-approval': 'Waiting for approval of',
    'waiting-window': 'Waiting for the window of',
    soaking: 'Soaking',
    approvals: 'Approvals so far for',
    deployed: 'Deployed',
    failed: 'Failed to deploy',
    rejected: 'Rejected',
    superseded: 'Superseded',
    cancelled: 'Cancelled',
    'rolled-back': 'Rolled back',
    repaired: 'Repaired',
    drift: 'Drift found for',
    'compensation-failed': 'ACTION NEEDED: could not undo',
  }[a.outcome];
  const notes = [
    ...(a.repaired ?? []).map((r) => `repaired: ${r}`),
    ...(a.drift ?? []).map((d) => `drift: ${d}`),
  ];
  const approvals = a.approvals ? ` [${a.approvals}]` : '';
  return `${verb} ${apps}${a.env ? ` in ${a.env}` : ''}${a.commit ? ` (${a.commit.slice(0, 12)})` : ''}${a.detail ? `: ${a.detail}` : ''}${approvals}${notes.length ? ` [${notes.join('; ')}]` : ''}`;
}

/** Writes one JSON line per announcement: structured for log pipelines, readable in a terminal. */
export class LogNotifier implements Notifier {
  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  announce(a: Announcement): Promise<void> {
    // Message refs and the promotion summary are for chat notifiers; a log line stays one short line.
    const line = { event: 'promote.announcement', text: announcementText(a), ...a };
    delete line.messages;
    delete line.promotion;
    this.write(JSON.stringify(line));
    return Promise.resolve();
  }
}
