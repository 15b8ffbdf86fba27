// The secrets a worker holds, as one registry: every place that stores or shows output masks their
// values (see ./redact.ts), and the deploy environment (./deploy-env.ts) never hands them to a command.
import { readFileSync } from 'node:fs';

/** Variables whose value is a secret, each also readable from a file named by `<NAME>_FILE`. */
export const SECRET_VARIABLES: readonly string[] = [
  'PROMOTE_GIT_TOKEN',
  'GITHUB_TOKEN',
  'PROMOTE_GITHUB_APP_PRIVATE_KEY',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  // An OTLP collector's token travels in these headers.
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
];

/** Variables whose value is the path of a key file: the file's content is the secret. */
export const SECRET_FILE_VARIABLES: readonly string[] = [
  'PROMOTE_GIT_SSH_KEY',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
];

/** PROMOTE_SECRET_ENV: more variables (comma- or space-separated) whose values the operator wants masked. */
export const OPERATOR_SECRETS = 'PROMOTE_SECRET_ENV';

/** Shorter values cannot be masked without masking ordinary words. */
const MIN_SECRET_LENGTH = 4;

/** A variable list such as `A,B C`; names only, anything else is ignored. */
export function variableList(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name));
}

/** Every variable that holds a secret in this environment: the built-in ones and the operator's. */
export function secretVariableNames(env: NodeJS.ProcessEnv = process.env): string[] {
  return [...SECRET_VARIABLES, ...variableList(env[OPERATOR_SECRETS])];
}

const fileCache = new Map<string, string | undefined>();

/** A mounted secret is read once: its content does not change while the worker runs. */
function fileContent(path: string): string | undefined {
  if (!fileCache.has(path)) {
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      text = undefined; // Whoever uses the variable reports the unreadable file.
    }
    fileCache.set(path, text);
  }
  return fileCache.get(path);
}

/**
 * A secret as it may show up in output: whole, trimmed, and (for multi-line values such as a PEM key)
 * line by line, since a tool or a tail may print only part of it.
 */
function forms(value: string): string[] {
  const trimmed = value.trim();
  const lines = trimmed.includes('\n')
    ? trimmed
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.length >= 16 && !/^-----(BEGIN|END) /.test(l))
    : [];
  const encoded = encodeURIComponent(trimmed);
  return [value, trimmed, ...lines, ...(encoded !== trimmed ? [encoded] : [])];
}

/**
 * The values of every secret the worker holds, longest first (so a secret containing another is masked
 * whole). Read on each call from the environment, so a secret set after start-up is masked too.
 */
export function workerSecretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  const values = new Set<string>();
  const add = (value: string | undefined) => {
    if (value) for (const form of forms(value)) if (form.length >= MIN_SECRET_LENGTH) values.add(form);
  };
  for (const name of secretVariableNames(env)) {
    add(env[name]);
    const file = env[`${name}_FILE`];
    if (file) add(fileContent(file));
  }
  for (const name of SECRET_FILE_VARIABLES) {
    const file = env[name];
    if (file) add(fileContent(file));
  }
  return [...values].sort((a, b) => b.length - a.length);
}
