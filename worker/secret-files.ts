import { readFileSync } from 'node:fs';

/**
 * Secrets a process reads from its environment, each of which may instead come from a file
 * (`NAME_FILE`, e.g. a mounted Kubernetes Secret), so no secret need be an environment variable that
 * `kubectl describe` or a crash dump shows. Not here, because they read their files themselves on
 * every use: the git token (the credential helper reads PROMOTE_GIT_TOKEN_FILE, so a rotated token is
 * picked up without a restart) and the Slack secrets (activities/slack/secrets.ts).
 */
export const SECRET_VARIABLES = [
  'GITHUB_TOKEN',
  'PROMOTE_GITHUB_APP_PRIVATE_KEY',
  'TEMPORAL_API_KEY',
] as const;

/** Every secret that may come from a `NAME_FILE`, whoever reads the file. */
export const FILE_SECRETS = [
  ...SECRET_VARIABLES,
  'PROMOTE_GIT_TOKEN',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
] as const;

export class SecretFileError extends Error {
  override readonly name = 'SecretFileError';
}

/** Fills each unset secret from its `NAME_FILE`; both set is refused, as is an unreadable file. */
export function loadSecretFiles(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of SECRET_VARIABLES) {
    const file = env[`${name}_FILE`];
    if (!file) continue;
    if (env[name]) throw new SecretFileError(`both ${name} and ${name}_FILE are set: set one`);
    try {
      env[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
      throw new SecretFileError(`${name}_FILE=${file} cannot be read (${reason})`);
    }
  }
}
