import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { DOC_PATH, patchRows, tableInPage } from './support/patch-table.js';

/** The patch policy's table is evidence: it must say what the code and the recorded histories say. */
describe('the patch table of docs/changing-the-workflow.md', () => {
  const page = readFileSync(DOC_PATH, 'utf8');
  const { start, end, introduced } = tableInPage(page);
  const tabled = page
    .split('\n')
    .slice(start + 2, end)
    .map((line) =>
      line
        .split('|')
        .map((cell) => cell.trim().replace(/`/g, ''))
        .slice(1, 6),
    );

  it('lists every patch the workflow code asks, with its workflow and the histories carrying its marker', () => {
    const rows = patchRows(introduced, 'not tabled yet: run npm run docs:patches');
    expect(tabled).toEqual(
      rows.map((r) => [r.patch, r.introduced, r.workflow, String(r.withMarker), String(r.without)]),
    );
  });
});
