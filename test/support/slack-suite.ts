import { afterEach, beforeEach } from '@jest/globals';
import { SlackApiStandIn } from './slack-api.js';

/** The bot token the Slack tests give the stand-in and the worker. */
export const SLACK_TEST_TOKEN = 'xoxb-0000000000-test-token';

/** A Slack API stand-in started before each test of the file and stopped after it. */
export function useSlackStandIn(token = SLACK_TEST_TOKEN): { readonly slack: SlackApiStandIn } {
  let current: SlackApiStandIn | undefined;
  beforeEach(async () => {
    current = await new SlackApiStandIn(token).start();
  });
  afterEach(async () => {
    await current?.stop();
  });
  return {
    get slack(): SlackApiStandIn {
      if (!current) throw new Error('the Slack stand-in is not started yet');
      return current;
    },
  };
}
