import { readFileSync } from 'node:fs';

export type SlackSecretName = 'SLACK_BOT_TOKEN' | 'SLACK_SIGNING_SECRET' | 'SLACK_APP_TOKEN';

/**
 * A Slack secret from the environment (`SLACK_BOT_TOKEN`) or a file (`SLACK_BOT_TOKEN_FILE`, e.g. a
 * mounted Kubernetes secret). Never from promote.yaml; errors name the variable, never the value.
 */
export function slackSecret(name: SlackSecretName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const direct = env[name]?.trim();
  if (direct) return direct;
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new Error(
      `${name}_FILE: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        cause: error,
      },
    );
  }
  if (!text) throw new Error(`${name}_FILE: ${file} is empty`);
  return text;
}
