import { secretFromEnv } from '../env-secret.js';

export type SlackSecretName = 'SLACK_BOT_TOKEN' | 'SLACK_SIGNING_SECRET' | 'SLACK_APP_TOKEN';

/**
 * A Slack secret from the environment (`SLACK_BOT_TOKEN`) or a file (`SLACK_BOT_TOKEN_FILE`, e.g. a
 * mounted Kubernetes secret). Never from promote.yaml; errors name the variable, never the value.
 */
export function slackSecret(name: SlackSecretName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return secretFromEnv(name, env);
}
