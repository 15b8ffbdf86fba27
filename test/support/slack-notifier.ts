import type { Notifier } from '../../activities/notifier.js';
import { createNotifier } from '../../worker/notifier.js';
import type { SlackApiStandIn } from './slack-api.js';

/** Where a worker's notifier logs what it announces: nowhere, the tests read Slack instead. */
export const quietLog: Notifier = { announce: () => Promise.resolve() };

/**
 * The notifier `promote worker` builds from its environment when a bot token is set, posting to the
 * Slack stand-in with the stand-in's token (`env` adds to that environment, e.g. PROMOTE_WEB_UI_URL).
 */
export function slackNotifier(slack: SlackApiStandIn, env: NodeJS.ProcessEnv = {}): Notifier {
  return createNotifier(
    'default',
    { SLACK_BOT_TOKEN: slack.token, SLACK_API_URL: slack.url, ...env },
    quietLog,
  );
}
