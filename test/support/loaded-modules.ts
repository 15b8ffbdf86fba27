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
/**
 * CommonJS packages load their own dependencies with require(), which the hook does not see (the
 * Temporal client's protobuf definitions, gRPC): at exit, every CommonJS module in the cache is
 * reported too, so what a command really loaded is on the list.
 */
const REGISTER = `import { register, createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});
const cache = createRequire(process.cwd() + '/').cache;
process.on('exit', () => {
  for (const file of Object.keys(cache)) process.stderr.write('loaded ' + pathToFileURL(file).href + '\\n');
});`;

/** Runs `node <args>` and returns the URLs of the modules it loaded, with its exit code. */
export async function modulesLoadedBy(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ exitCode: number; modules: string[]; stdout: string }> {
  const run = await execa(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, ...args],
    { reject: false, env },
  );
  const modules = run.stderr
    .split('\n')
    .filter((line) => line.startsWith('loaded '))
    .map((line) => line.slice('loaded '.length));
  return { exitCode: run.exitCode ?? -1, modules: [...new Set(modules)], stdout: run.stdout };
}
