import { readFileSync } from 'node:fs';

/**
 * A secret from the environment variable `name`, or from the file `${name}_FILE` names (e.g. a mounted
 * Kubernetes secret); undefined when neither is set. Errors name the variable and the file, never the
 * value; `fail` makes them (a CLI's bad input, say).
 */
export function secretFromEnv(
  name: string,
  env: NodeJS.ProcessEnv,
  fail: (message: string, cause?: unknown) => Error = (message, cause) =>
    cause === undefined ? new Error(message) : new Error(message, { cause }),
): string | undefined {
  const direct = env[name]?.trim();
  if (direct) return direct;
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw fail(
      `${name}_FILE: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      error,
    );
  }
  if (!text) throw fail(`${name}_FILE: ${file} is empty`);
  return text;
}
