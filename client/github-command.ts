import { secretFromEnv } from '../activities/env-secret.js';
import { redact } from '../activities/redact.js';
import { connectClient } from '../worker/connection.js';
import { startGitHubReceiver } from './github-receiver.js';
import { BadInputError } from './promotions.js';

const SECRET = 'PROMOTE_GITHUB_WEBHOOK_SECRET';

/** The webhook secret from PROMOTE_GITHUB_WEBHOOK_SECRET or the file PROMOTE_GITHUB_WEBHOOK_SECRET_FILE names. */
export function webhookSecret(env: NodeJS.ProcessEnv = process.env): string {
  const secret = secretFromEnv(SECRET, env, (message) => new BadInputError(message));
  if (!secret)
    throw new BadInputError(
      `${SECRET} (or ${SECRET}_FILE) must be set: every webhook delivery is verified with it`,
    );
  return secret;
}

function logLine(message: string): void {
  process.stderr.write(`[promote github] ${redact(message)}\n`);
}

/** `promote github --port N`: serves GitHub webhooks at POST /github/webhook until SIGINT/SIGTERM. */
export async function runGitHubReceiver(options: { port: number }): Promise<void> {
  const secret = webhookSecret();
  const client = await connectClient();
  const receiver = await startGitHubReceiver({ client, secret, log: logLine }, options.port);
  logLine(`listening for GitHub webhooks at http://0.0.0.0:${receiver.port}/github/webhook`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await receiver.stop();
}
