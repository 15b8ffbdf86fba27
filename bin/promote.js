#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm run build` (run automatically by `npm test` and `npm run demo`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/client/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('promote: not built yet; run `npm run setup` in the project folder first.\n');
  process.exit(2);
}
await import(entry.href);
