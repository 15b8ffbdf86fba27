import { LogNotifier, type Announcement, type Notifier } from '../activities/notifier.js';
import { SlackNotifier } from '../activities/slack/notifier.js';
import { slackSecret } from '../activities/slack/secrets.js';

/** Logs every announcement, then hands it to Slack: the log line stays even when Slack is down. */
class LoggedSlackNotifier implements Notifier {
  constructor(
    private readonly log: Notifier,
    readonly slack: SlackNotifier,
  ) {}

  async announce(a: Announcement) {
    await this.log.announce(a);
    return this.slack.announce(a);
  }
}

/**
 * The worker's notifier: Slack when a bot token is configured (SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE),
 * else one JSON log line per announcement.
 */
export function createNotifier(
  namespace: string,
  env: NodeJS.ProcessEnv = process.env,
  log: Notifier = new LogNotifier(),
): Notifier {
  const token = slackSecret('SLACK_BOT_TOKEN', env);
  if (!token) return log;
  return new LoggedSlackNotifier(
    log,
    new SlackNotifier({
      token,
      namespace,
      ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}),
      ...(env.PROMOTE_WEB_UI_URL ? { webUiUrl: env.PROMOTE_WEB_UI_URL } : {}),
    }),
  );
}
