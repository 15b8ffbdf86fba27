import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../server/tools.js';

/**
 * Recorded histories are append-only: a history of a run that once existed stays in the repository and
 * is replayed forever. test/histories/MANIFEST.json lists every recorded file with the sha256 of its
 * bytes. It is closed: entries recorded since live in test/histories/manifest.d, one file each
 * (`npm run histories:record` adds them), so recording never edits a committed file. test/replay.test.ts fails
 * when a listed file changed or disappeared, when a file is not listed, or when an entry of an earlier
 * manifest (in git) is gone.
 *
 * `retired` (append-only as well, written by hand) names histories whose old path a removed patch no
 * longer has (see docs/changing-the-workflow.md): they are still replayed, and may then fail only with a
 * nondeterminism error, only while their patch is no longer asked by `patched()`; any other failure
 * fails the test. A retirement says which patch, why, and the last commit whose code replays the file.
 */
export const HISTORIES_DIR = join(PROJECT_ROOT, 'test', 'histories');
export const MANIFEST_FILE = 'MANIFEST.json';
export const MANIFEST_PATH = join(HISTORIES_DIR, MANIFEST_FILE);
/**
 * Entries recorded since MANIFEST.json was closed: one file each (`<history>.json` holding its entry),
 * so recording a history only ever adds files and never edits one already committed.
 */
export const ENTRIES_DIR = join(HISTORIES_DIR, 'manifest.d');

export interface ManifestEntry {
  file: string;
  sha256: string;
  /**
   * The workflow id of the recorded run. Histories do not contain it and replay otherwise runs as
   * 'fake'; code that reads it (a signed approval's statement names its promotion) needs the real one.
   */
  workflowId?: string;
}

/** A history recorded before a patch whose old branch was removed: kept, replayed, allowed to diverge. */
export interface RetiredEntry {
  file: string;
  /** The patch whose old path this history took (its history has no marker for it). */
  patch: string;
  /** Why no supported run can take that path any more (the policy's evidence). */
  reason: string;
  /** The last commit whose workflow code replays this history (check it there: see the docs). */
  lastReplayedAt: string;
  /**
   * A history of the same scenario recorded with the patch's marker, not retired: the scenario stays
   * replayed against today's code, so a retirement never takes a scenario out of the test.
   */
  replacedBy: string;
}

export interface Manifest {
  about: string;
  histories: ManifestEntry[];
  retired: RetiredEntry[];
}

const ABOUT =
  'Append-only: every recorded workflow history and the sha256 of its bytes. Never edit or remove an entry; `npm run histories:record` appends new ones.';

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function parseManifest(text: string): Manifest {
  const parsed = JSON.parse(text) as Partial<Manifest>;
  if (!Array.isArray(parsed.histories)) throw new Error(`${MANIFEST_FILE} has no "histories" list`);
  if (parsed.retired !== undefined && !Array.isArray(parsed.retired))
    throw new Error(`${MANIFEST_FILE}: "retired" must be a list`);
  return { about: parsed.about ?? ABOUT, histories: parsed.histories, retired: parsed.retired ?? [] };
}

/** MANIFEST.json (closed: kept byte for byte as committed) and then the entry files, by name. */
export function readManifest(): Manifest {
  const closed = existsSync(MANIFEST_PATH)
    ? parseManifest(readFileSync(MANIFEST_PATH, 'utf8'))
    : { about: ABOUT, histories: [], retired: [] };
  // An entry file may restate a MANIFEST.json entry (the eight listed in both when entries moved to
  // files): taken once, and only if it says exactly the same.
  const closedByFile = new Map(closed.histories.map((e) => [e.file, e]));
  const added = entryFiles().filter((entry) => {
    const listed = closedByFile.get(entry.file);
    if (!listed) return true;
    if (JSON.stringify(listed) !== JSON.stringify(entry))
      throw new Error(`manifest.d/${entry.file} contradicts its ${MANIFEST_FILE} entry`);
    return false;
  });
  return { ...closed, histories: [...closed.histories, ...added] };
}

/** The entries of manifest.d, in file-name order. */
function entryFiles(): ManifestEntry[] {
  if (!existsSync(ENTRIES_DIR)) return [];
  return readdirSync(ENTRIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => parseEntry(readFileSync(join(ENTRIES_DIR, f), 'utf8'), f));
}

/** One entry file of manifest.d; its name is the history's. */
export function parseEntry(text: string, name: string): ManifestEntry {
  const entry = JSON.parse(text) as Partial<ManifestEntry>;
  if (entry.file !== name || typeof entry.sha256 !== 'string')
    throw new Error(`manifest.d/${name} must name its own history ("file") and its "sha256"`);
  return {
    file: entry.file,
    sha256: entry.sha256,
    ...(entry.workflowId ? { workflowId: entry.workflowId } : {}),
  };
}

/** The history files on disk (the manifest itself excluded). */
export function historyFiles(): string[] {
  return readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json') && f !== MANIFEST_FILE)
    .sort();
}

/** Lists newly recorded histories: one new entry file each in manifest.d; nothing committed is edited. */
export function appendToManifest(files: string[], workflowIds: Record<string, string> = {}): void {
  const manifest = readManifest();
  mkdirSync(ENTRIES_DIR, { recursive: true });
  for (const file of files) {
    const hash = sha256(readFileSync(join(HISTORIES_DIR, file)));
    const listed = manifest.histories.find((e) => e.file === file);
    if (listed) {
      if (listed.sha256 !== hash) throw new Error(`${file} differs from its manifest entry: never re-record`);
      continue;
    }
    const workflowId = workflowIds[file];
    const entry = { file, sha256: hash, ...(workflowId ? { workflowId } : {}) };
    writeFileSync(join(ENTRIES_DIR, file), `${JSON.stringify(entry, null, 2)}\n`, { flag: 'wx' });
  }
}

/** Why a retirement entry is not acceptable, or undefined (`markersOf`: the patch ids a history recorded). */
export function retirementProblem(
  entry: RetiredEntry,
  manifest: Manifest,
  markersOf: (file: string) => string[],
): string | undefined {
  const listed = manifest.histories.map((e) => e.file);
  if (!listed.includes(entry.file)) return `${entry.file} is retired but not listed in "histories"`;
  if (!entry.patch?.trim() || !entry.reason?.trim())
    return `${entry.file}: a retirement names its patch and reason`;
  if (!/^[0-9a-f]{7,40}$/.test(entry.lastReplayedAt ?? ''))
    return `${entry.file}: lastReplayedAt must be the commit that last replays it`;
  if (markersOf(entry.file).includes(entry.patch))
    return `${entry.file} has the ${entry.patch} marker: deprecatePatch keeps it replaying, it cannot be retired for it`;
  const replacement = entry.replacedBy;
  if (!listed.includes(replacement) || manifest.retired.some((r) => r.file === replacement))
    return `${entry.file}: replacedBy must name a listed history that is not retired`;
  if (!markersOf(replacement).includes(entry.patch))
    return `${entry.file}: its replacement ${replacement} must have been recorded with the ${entry.patch} marker`;
  return undefined;
}

/** The patch ids a recorded history's markers name (the `core_patch` markers `patched()` records). */
export function patchMarkers(history: unknown): string[] {
  const events = (history as { events?: Record<string, unknown>[] }).events ?? [];
  const ids: string[] = [];
  for (const event of events) {
    const marker = event['markerRecordedEventAttributes'] as
      { markerName?: string; details?: Record<string, { payloads?: { data?: string }[] }> } | undefined;
    if (marker?.markerName !== 'core_patch') continue;
    for (const payload of marker.details?.['patch-data']?.payloads ?? []) {
      if (!payload.data) continue;
      const data = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as { id?: string };
      if (data.id) ids.push(data.id);
    }
  }
  return ids;
}
