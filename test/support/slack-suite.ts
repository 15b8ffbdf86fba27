import { SlackApiStandIn } from './slack-api.js';
import { useFixture } from './fixture.js';

/** The bot token the Slack tests give the stand-in and the worker. */
export const SLACK_TEST_TOKEN = 'xoxb-0000000000-test-token';

/** A Slack API stand-in started before each test of the file and stopped after it. */
export function useSlackStandIn(token = SLACK_TEST_TOKEN): { readonly slack: SlackApiStandIn } {
  const slack = useFixture(
    () => new SlackApiStandIn(token).start(),
    (s) => s.stop(),
    { what: 'the Slack stand-in', each: true },
  );
  return {
    get slack(): SlackApiStandIn {
      return slack();
    },
  };
}
