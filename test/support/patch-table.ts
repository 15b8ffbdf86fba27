import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../server/tools.js';
import { HISTORIES_DIR, patchMarkers, readManifest } from './history-manifest.js';

/**
 * The table of docs/changing-the-workflow.md ("The policy applied"): every patch the workflow code asks,
 * the workflow that asks it, and how many recorded histories of that workflow carry its marker or not.
 * Computed from the code and the histories, so the table the patch policy rests on cannot go stale:
 * test/patch-table.test.ts compares it with the page; `npm run docs:patches` writes it there.
 */
export const DOC_PATH = join(PROJECT_ROOT, 'docs', 'changing-the-workflow.md');
const WORKFLOWS_DIR = join(PROJECT_ROOT, 'workflows');

export interface PatchRow {
  patch: string;
  /** When it was released (kept from the page; a new patch gets the day it was first tabled). */
  introduced: string;
  workflow: string;
  withMarker: number;
  without: number;
}

/** The workflow a module's patches belong to: the lock's modules, governance, the janitor, else promote. */
function workflowOf(file: string): string {
  if (file === 'environment-lock.ts' || file.startsWith('lock-')) return 'environmentLock';
  if (file === 'governance.ts') return 'governance';
  if (file === 'janitor.ts') return 'promoteJanitor';
  return 'promote';
}

/**
 * Every patch id asked in workflows/, literally (`patched('x')`) or through a `…_PATCH = 'x'` constant,
 * with the workflow that asks it: one pair per workflow (a patch both sides of a protocol ask, such as
 * the promotion and its lock, has a row for each).
 */
export function patchesInCode(): [string, string][] {
  const found = new Map<string, [string, string]>();
  for (const file of readdirSync(WORKFLOWS_DIR).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(WORKFLOWS_DIR, file), 'utf8');
    for (const m of text.matchAll(/patched\('([^']+)'\)|_PATCH = '([^']+)'/g)) {
      const id = m[1] ?? m[2];
      const workflow = workflowOf(file);
      if (id && !found.has(`${id} ${workflow}`)) found.set(`${id} ${workflow}`, [id, workflow]);
    }
  }
  return [...found.values()];
}

function workflowTypeOf(history: unknown): string {
  const first = (history as { events?: Record<string, unknown>[] }).events?.[0];
  const started = first?.['workflowExecutionStartedEventAttributes'] as
    { workflowType?: { name?: string } } | undefined;
  return started?.workflowType?.name ?? 'unknown';
}

/** Rows in the page's order: by release date, then name; dates of patches already tabled are kept. */
export function patchRows(introduced: Map<string, string>, today: string): PatchRow[] {
  const histories = readManifest().histories.map(({ file }) => {
    const history = JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as unknown;
    return { type: workflowTypeOf(history), markers: new Set(patchMarkers(history)) };
  });
  return patchesInCode()
    .map(([patch, workflow]) => {
      const ofWorkflow = histories.filter((h) => h.type === workflow);
      const withMarker = ofWorkflow.filter((h) => h.markers.has(patch)).length;
      return {
        patch,
        introduced: introduced.get(patch) ?? today,
        workflow,
        withMarker,
        without: ofWorkflow.length - withMarker,
      };
    })
    .sort(
      (a, b) =>
        a.introduced.localeCompare(b.introduced) ||
        a.patch.localeCompare(b.patch) ||
        a.workflow.localeCompare(b.workflow),
    );
}

const HEADER = '| Patch | Introduced | Workflow | Histories with its marker | Without |';

/** The table's lines in the page (header to last row), and the dates it gives. */
export function tableInPage(page: string): { start: number; end: number; introduced: Map<string, string> } {
  const lines = page.split('\n');
  const start = lines.findIndex((l) => l.replace(/\s+/g, ' ').startsWith(HEADER));
  if (start < 0) throw new Error(`${DOC_PATH} has no patch table (${HEADER})`);
  let end = start + 2;
  while (lines[end]?.startsWith('|')) end++;
  const introduced = new Map<string, string>();
  for (const line of lines.slice(start + 2, end)) {
    const [, patch, date] = line.split('|').map((c) => c.trim().replace(/`/g, ''));
    if (patch && date) introduced.set(patch, date);
  }
  return { start, end, introduced };
}

export function renderRows(rows: PatchRow[]): string[] {
  return [
    HEADER,
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) => `| \`${r.patch}\` | ${r.introduced} | ${r.workflow} | ${r.withMarker} | ${r.without} |`,
    ),
  ];
}
