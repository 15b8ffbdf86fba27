import { redact } from '../../activities/redact.js';
import { slackSecret } from '../../activities/slack/secrets.js';
import { connectClient } from '../../worker/connection.js';
import { BadInputError } from '../promotions.js';
import { startSlackReceiver } from './receiver.js';

function logLine(message: string): void {
  // The receiver holds the Slack tokens and signing secret: none of them reaches its log.
  process.stderr.write(`[promote slack] ${redact(message)}\n`);
}

function required(name: 'SLACK_BOT_TOKEN' | 'SLACK_SIGNING_SECRET' | 'SLACK_APP_TOKEN', why: string): string {
  let value: string | undefined;
  try {
    value = slackSecret(name);
  } catch (error) {
    throw new BadInputError((error as Error).message);
  }
  if (!value) throw new BadInputError(`${name} (or ${name}_FILE) must be set: ${why}`);
  return value;
}

/**
 * `promote slack`: receives Approve/Reject presses and turns them into approval Updates. HTTP mode
 * serves Slack's interactivity requests at /slack/events; Socket Mode opens an outbound connection
 * instead (no public endpoint). Runs until SIGINT/SIGTERM.
 */
export async function runSlackReceiver(options: { port: number; socket?: boolean }): Promise<void> {
  const botToken = required('SLACK_BOT_TOKEN', 'it posts ephemeral refusals and updates approval messages');
  const secrets = options.socket
    ? { appToken: required('SLACK_APP_TOKEN', 'Socket Mode connects with an app-level token (xapp-…)') }
    : { signingSecret: required('SLACK_SIGNING_SECRET', 'every request from Slack is verified with it') };
  const client = await connectClient();
  const receiver = await startSlackReceiver(
    {
      client,
      botToken,
      ...secrets,
      socket: options.socket === true,
      ...(process.env.SLACK_API_URL ? { slackApiUrl: process.env.SLACK_API_URL } : {}),
      log: logLine,
    },
    options.socket ? undefined : options.port,
  );
  logLine(
    options.socket
      ? 'connected to Slack in Socket Mode'
      : `listening for Slack interactivity at http://0.0.0.0:${receiver.port}/slack/events`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await receiver.stop();
}
