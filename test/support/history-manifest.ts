import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../server/tools.js';

/**
 * Recorded histories are append-only: a history of a run that once existed stays replayable forever.
 * test/histories/MANIFEST.json lists every recorded file with the sha256 of its bytes; entries are only
 * ever appended (by `npm run histories:record`), and test/replay.test.ts fails when a listed file changed
 * or disappeared, when a file is not listed, or when an entry of an earlier manifest (in git) is gone.
 */
export const HISTORIES_DIR = join(PROJECT_ROOT, 'test', 'histories');
export const MANIFEST_FILE = 'MANIFEST.json';
export const MANIFEST_PATH = join(HISTORIES_DIR, MANIFEST_FILE);

export interface ManifestEntry {
  file: string;
  sha256: string;
  /**
   * The workflow id of the recorded run. Histories do not contain it and replay otherwise runs as
   * 'fake'; code that reads it (a signed approval's statement names its promotion) needs the real one.
   */
  workflowId?: string;
}

export interface Manifest {
  about: string;
  histories: ManifestEntry[];
}

const ABOUT =
  'Append-only: every recorded workflow history and the sha256 of its bytes. Never edit or remove an entry; `npm run histories:record` appends new ones.';

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function parseManifest(text: string): Manifest {
  const parsed = JSON.parse(text) as Partial<Manifest>;
  if (!Array.isArray(parsed.histories)) throw new Error(`${MANIFEST_FILE} has no "histories" list`);
  return { about: parsed.about ?? ABOUT, histories: parsed.histories };
}

export function readManifest(): Manifest {
  if (!existsSync(MANIFEST_PATH)) return { about: ABOUT, histories: [] };
  return parseManifest(readFileSync(MANIFEST_PATH, 'utf8'));
}

/** The history files on disk (the manifest itself excluded). */
export function historyFiles(): string[] {
  return readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json') && f !== MANIFEST_FILE)
    .sort();
}

/**
 * Appends entries for `files` (with the workflow id each was recorded from, when known); an entry already
 * listed is never rewritten (its file must be unchanged).
 */
export function appendToManifest(files: string[], workflowIds: Record<string, string> = {}): void {
  const manifest = readManifest();
  for (const file of files) {
    const hash = sha256(readFileSync(join(HISTORIES_DIR, file)));
    const listed = manifest.histories.find((e) => e.file === file);
    if (listed) {
      if (listed.sha256 !== hash) throw new Error(`${file} differs from its manifest entry: never re-record`);
      continue;
    }
    const workflowId = workflowIds[file];
    manifest.histories.push({ file, sha256: hash, ...(workflowId ? { workflowId } : {}) });
  }
  writeFileSync(MANIFEST_PATH, `${JSON.stringify(manifest, null, 2)}\n`);
}
