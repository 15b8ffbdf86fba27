import { execa } from 'execa';

/**
 * A module hook that prints every module a process resolves, one `loaded <url>` line on stderr. ESM
 * resolution goes through it, and so does the first `import` of any CommonJS package (e.g. the
 * Temporal SDK), which is what matters for start-up cost.
 */
const HOOKS = `export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  process.stderr.write('loaded ' + result.url + '\\n');
  return result;
}`;
const REGISTER = `import { register } from 'node:module';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`;

/** Runs `node <args>` and returns the URLs of the modules it loaded, with its exit code. */
export async function modulesLoadedBy(
  args: readonly string[],
): Promise<{ exitCode: number; modules: string[] }> {
  const run = await execa(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, ...args],
    {
      reject: false,
    },
  );
  const modules = run.stderr
    .split('\n')
    .filter((line) => line.startsWith('loaded '))
    .map((line) => line.slice('loaded '.length));
  return { exitCode: run.exitCode ?? -1, modules };
}
