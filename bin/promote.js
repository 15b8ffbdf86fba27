#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm run build` (run automatically by `npm test` and `npm run demo`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/client/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('promote: not built yet; run `npm run setup` in the project folder first.\n');
  process.exit(2);
}
// `promote worker` runs in a process started with its memory settings (dist/worker/launch.js): decided
// here, before anything else loads, so a relaunching parent holds nothing but node.
if (process.argv[2] === 'worker' && process.argv.length === 3) {
  const { launchWorker } = await import(new URL('../dist/worker/launch.js', import.meta.url).href);
  const code = await launchWorker();
  if (code !== undefined) process.exit(code);
}
await import(entry.href);
