import { readFileSync } from 'node:fs';
import { redact } from '../activities/redact.js';
import { connectClient } from '../worker/connection.js';
import { startGitHubReceiver } from './github-receiver.js';
import { BadInputError } from './promotions.js';

const SECRET = 'PROMOTE_GITHUB_WEBHOOK_SECRET';

/** The webhook secret from PROMOTE_GITHUB_WEBHOOK_SECRET or the file PROMOTE_GITHUB_WEBHOOK_SECRET_FILE names. */
export function webhookSecret(env: NodeJS.ProcessEnv = process.env): string {
  const direct = env[SECRET]?.trim();
  if (direct) return direct;
  const file = env[`${SECRET}_FILE`];
  if (!file)
    throw new BadInputError(
      `${SECRET} (or ${SECRET}_FILE) must be set: every webhook delivery is verified with it`,
    );
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new BadInputError(
      `${SECRET}_FILE: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  if (!text) throw new BadInputError(`${SECRET}_FILE: ${file} is empty`);
  return text;
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
