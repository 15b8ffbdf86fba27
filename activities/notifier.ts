/** What an announcement says: built from the bump commit and deploy result, never from CI variables. */
export interface Announcement {
  promotionId: string;
  env: string;
  outcome: 'deployed' | 'failed' | 'rejected' | 'superseded' | 'cancelled';
  apps: { app: string; tag: string; previousTag?: string }[];
  commit?: string;
  detail?: string;
}

/** The seam for Slack and other channels. */
export interface Notifier {
  announce(announcement: Announcement): Promise<void>;
}

export function announcementText(a: Announcement): string {
  const apps = a.apps.map((x) => `${x.app} ${x.previousTag ? `${x.previousTag} → ` : ''}${x.tag}`).join(', ');
  const verb = {
    deployed: 'Deployed',
    failed: 'Failed to deploy',
    rejected: 'Rejected',
    superseded: 'Superseded',
    cancelled: 'Cancelled',
  }[a.outcome];
  return `${verb} ${apps} in ${a.env}${a.commit ? ` (${a.commit.slice(0, 12)})` : ''}${a.detail ? `: ${a.detail}` : ''}`;
}

/** Writes one JSON line per announcement: structured for log pipelines, readable in a terminal. */
export class LogNotifier implements Notifier {
  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  announce(a: Announcement): Promise<void> {
    this.write(JSON.stringify({ event: 'promote.announcement', text: announcementText(a), ...a }));
    return Promise.resolve();
  }
}
