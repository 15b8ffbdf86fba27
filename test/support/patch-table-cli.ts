// `npm run docs:patches`: rewrites the patch table of docs/changing-the-workflow.md from the workflow
// code and the recorded histories (Prettier aligns it afterwards).
import { readFileSync, writeFileSync } from 'node:fs';
import { DOC_PATH, patchRows, renderRows, tableInPage } from './patch-table.js';

const page = readFileSync(DOC_PATH, 'utf8');
const { start, end, introduced } = tableInPage(page);
const lines = page.split('\n');
const rows = patchRows(introduced, new Date().toISOString().slice(0, 10));
lines.splice(start, end - start, ...renderRows(rows));
writeFileSync(DOC_PATH, lines.join('\n'));
process.stdout.write(`${DOC_PATH}: ${rows.length} patches\n`);
