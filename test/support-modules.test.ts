import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../server/tools.js';

/** Entry points: importing them runs them (`npm run histories:record`, `npm run docs:patches`, …). */
const ENTRY_POINTS = new Set(['record-histories.ts', 'record-slack-histories.ts', 'patch-table-cli.ts']);

/** Support modules that import Jest, directly or through another support module. */
function needingJest(dir: string, files: string[]): Set<string> {
  const imports = new Map(
    files.map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      const local = [...text.matchAll(/from '\.\/([\w-]+)\.js'/g)].map((m) => `${m[1]}.ts`);
      return [f, { jest: text.includes("from '@jest/globals'"), local }] as const;
    }),
  );
  const bound = new Set(files.filter((f) => imports.get(f)?.jest));
  for (let grew = true; grew;) {
    grew = false;
    for (const f of files)
      if (!bound.has(f) && imports.get(f)?.local.some((l) => bound.has(l))) grew = Boolean(bound.add(f));
  }
  return bound;
}

/**
 * `npm run histories:record` and `npm run docs:patches` run test/support under plain Node, not Jest,
 * whose module interop forgives what Node's ESM loader refuses (a named import from a CommonJS package
 * passed every test and broke the recorder). Every support module that does not need Jest must load.
 */
describe('test/support outside Jest', () => {
  it('loads every support module the recorders and scripts may use in a plain Node process', async () => {
    const dir = join(PROJECT_ROOT, 'test', 'support');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    const jestBound = needingJest(dir, files);
    const modules = files
      .filter((f) => !ENTRY_POINTS.has(f) && !jestBound.has(f))
      .map(
        (f) => pathToFileURL(join(PROJECT_ROOT, 'dist', 'test', 'support', f.replace(/\.ts$/, '.js'))).href,
      );
    expect(modules.length).toBeGreaterThan(20);
    const script = `for (const m of ${JSON.stringify(modules)}) await import(m);`;
    const run = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: PROJECT_ROOT,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(run).toEqual({ code: 0, stderr: '' });
  });
});
