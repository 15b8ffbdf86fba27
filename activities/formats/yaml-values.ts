import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, parseAllDocuments, parseDocument, Scalar, type Document } from 'yaml';
import {
  formatSegments,
  KeyPathError,
  parseKeyPath,
  parseSelector,
  type Segment,
} from '../../common/key-path.js';

/** Where a value lives: a key path and, in a multi-document file, which document. */
export interface Locator {
  path: string;
  /** A document's index, or a `field.path=value` selector; absent: the one document holding the path. */
  document?: number | string;
}

export interface ScalarEdit extends Locator {
  value: string;
  /** Create the key (and missing parents) when absent instead of failing. */
  create?: boolean;
  /** Skip the edit when the key is absent (e.g. clearing a digest a file may not have). */
  whenPresent?: boolean;
}

export interface ScalarChange {
  path: string;
  before: string | undefined;
  after: string;
  /** The document's index, for files with more than one. */
  document?: number;
}

export class ValuesKeyError extends Error {
  override readonly name = 'ValuesKeyError';
}

/** The key a locator's value is returned under: its path, prefixed by its document when it has one. */
export function locatorKey(locator: string | Locator): string {
  if (typeof locator === 'string') return locator;
  return locator.document === undefined ? locator.path : `(${locator.document})${locator.path}`;
}

/** A scalar as the string a values file means by it (numbers and booleans as written). */
function scalarString(node: Scalar): string {
  const value: unknown = node.value;
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : (node.source ?? JSON.stringify(value));
}

type Docs = Document.Parsed[];

/**
 * The last few large sources parsed, by text: a bump reads the same values file several times (its
 * tags, the edit, the previous tags), and a file of a megabyte takes seconds to parse. The documents
 * are only read, never changed, so sharing them is safe.
 */
const parsed = new Map<string, Docs>();
const MEMO_MIN_CHARS = 64 * 1024;
const MEMO_ENTRIES = 2;

function parseDocs(source: string, file: string): Docs {
  const known = parsed.get(source);
  if (known) return known;
  const docs = Array.from(parseAllDocuments(source, { keepSourceTokens: true }));
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      throw new ValuesKeyError(`${file} is not valid YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
    }
  }
  const result = docs.length > 0 ? docs : [parseDocument(source, { keepSourceTokens: true })];
  if (source.length >= MEMO_MIN_CHARS) {
    if (parsed.size >= MEMO_ENTRIES) parsed.delete(parsed.keys().next().value as string);
    parsed.set(source, result);
  }
  return result;
}

/** Aliases a values file may expand to (yaml's own default): more is an alias bomb, not a deployment. */
const MAX_VALUES_ALIASES = 100;

/**
 * A document as plain data, to compare before and after an edit. An alias bomb (a few lines expanding
 * to billions of nodes) is bad input, refused for good, never a crash that Temporal would retry.
 */
function plainValue(doc: Document, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_VALUES_ALIASES });
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message))
      throw new ValuesKeyError(
        `${file} expands too many YAML aliases (over ${MAX_VALUES_ALIASES}): refused as an alias bomb`,
      );
    throw error;
  }
}

function segments(path: string): Segment[] {
  try {
    return parseKeyPath(path);
  } catch (error) {
    if (error instanceof KeyPathError) throw new ValuesKeyError(error.message);
    throw error;
  }
}

function keyOf(node: unknown): string | undefined {
  return isScalar(node) ? String(node.value) : undefined;
}

function fieldString(node: unknown, field: readonly string[]): string | undefined {
  let at = node;
  for (const key of field) {
    if (!isMap(at)) return undefined;
    at = at.items.find((p) => keyOf(p.key) === key)?.value;
  }
  return isScalar(at) ? scalarString(at) : undefined;
}

type Walk =
  | { found: true; node: unknown; concrete: (string | number)[] }
  | { found: false; node: unknown; at: number; concrete: (string | number)[] };

/** Follows the segments from `root`; stops at the first one that does not exist. */
function walk(root: unknown, segs: readonly Segment[], file: string, path: string): Walk {
  let node = root;
  const concrete: (string | number)[] = [];
  const isEmpty = (n: unknown) => n === null || n === undefined || (isScalar(n) && n.value === null);
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] as Segment;
    const where = formatSegments(segs, i) || '(the document)';
    if (seg.kind === 'key') {
      if (!isMap(node)) {
        if (isEmpty(node)) return { found: false, node, at: i, concrete };
        throw new ValuesKeyError(`${file}: ${path}: ${where} is not a map`);
      }
      const pair = node.items.find((p) => keyOf(p.key) === seg.key);
      if (!pair) return { found: false, node, at: i, concrete };
      concrete.push(seg.key);
      node = pair.value;
      continue;
    }
    if (!isSeq(node)) {
      if (isEmpty(node)) return { found: false, node, at: i, concrete };
      throw new ValuesKeyError(`${file}: ${path}: ${where} is not a list`);
    }
    if (seg.kind === 'index') {
      if (seg.index >= node.items.length) return { found: false, node, at: i, concrete };
      concrete.push(seg.index);
      node = node.items[seg.index];
      continue;
    }
    const hits = node.items.flatMap((item, index) =>
      fieldString(item, seg.field) === seg.value ? [index] : [],
    );
    if (hits.length > 1) {
      throw new ValuesKeyError(
        `${file}: ${path}: ${hits.length} items of ${where} have ${seg.field.join('.')}=${seg.value}; the selector must pick one`,
      );
    }
    if (hits.length === 0) return { found: false, node, at: i, concrete };
    concrete.push(hits[0] as number);
    node = node.items[hits[0] as number];
  }
  return { found: true, node, concrete };
}

/** The documents a locator may be in: the one it names, or all of them. */
function candidateDocuments(docs: Docs, locator: Locator, file: string): number[] {
  const { document } = locator;
  if (document === undefined) return docs.map((_, i) => i);
  const selector =
    typeof document === 'number'
      ? { kind: 'index' as const, index: document }
      : parseSelector(document, document);
  if (selector.kind === 'index') {
    if (selector.index >= docs.length) {
      throw new ValuesKeyError(`${file} has no document ${selector.index} (it has ${docs.length})`);
    }
    return [selector.index];
  }
  const hits = docs.flatMap((doc, i) =>
    fieldString(doc.contents, selector.field) === selector.value ? [i] : [],
  );
  const label = `${selector.field.join('.')}=${selector.value}`;
  if (hits.length === 0) throw new ValuesKeyError(`${file} has no document with ${label}`);
  if (hits.length > 1)
    throw new ValuesKeyError(
      `${file} has ${hits.length} documents with ${label}; the selector must pick one`,
    );
  return hits;
}

interface Resolved {
  doc: number;
  walk: Walk;
  segs: Segment[];
}

/** Finds a locator's node: in exactly one candidate document, or reports where it is missing. */
function resolve(docs: Docs, locator: Locator, file: string): Resolved {
  const segs = segments(locator.path);
  const candidates = candidateDocuments(docs, locator, file);
  const walks = candidates.map((doc) => ({
    doc,
    walk: walk(docs[doc]?.contents, segs, file, locator.path),
    segs,
  }));
  const found = walks.filter((w) => w.walk.found);
  if (found.length > 1) {
    throw new ValuesKeyError(
      `${file}: ${locator.path} is in documents ${found.map((f) => f.doc).join(', ')}; set the app's document to pick one`,
    );
  }
  if (found[0]) return found[0];
  if (walks.length !== 1) {
    return { doc: -1, walk: { found: false, node: undefined, at: 0, concrete: [] }, segs };
  }
  return walks[0] as Resolved;
}

function missing(file: string, locator: Locator): ValuesKeyError {
  const where = locator.document === undefined ? '' : ` in document ${locator.document}`;
  return new ValuesKeyError(`${file} has no key ${locator.path}${where}`);
}

function scalarNode(resolved: Resolved, file: string, locator: Locator): Scalar {
  const node = resolved.walk.node;
  if (!resolved.walk.found) throw missing(file, locator);
  if (!isScalar(node)) throw new ValuesKeyError(`${file}: ${locator.path} is not a scalar value`);
  return node;
}

/** Reads the scalar at each locator; a missing or non-scalar one is an error naming file and key. */
export function readScalars(
  source: string,
  locators: readonly (string | Locator)[],
  file: string,
): Map<string, string> {
  const docs = parseDocs(source, file);
  const out = new Map<string, string>();
  for (const item of locators) {
    const locator = typeof item === 'string' ? { path: item } : item;
    out.set(locatorKey(item), scalarString(scalarNode(resolve(docs, locator, file), file, locator)));
  }
  return out;
}

/** Whether the locator names an existing key (any value). */
export function hasKey(source: string, locator: Locator, file: string): boolean {
  return resolve(parseDocs(source, file), locator, file).walk.found;
}

/** A value's text that reads back as exactly this string, in block or flow context. */
function plainOrQuoted(value: string): string {
  if (/[,[\]{}#]/.test(value) || value.trim() !== value) return JSON.stringify(value);
  const probe: unknown = parseDocument(`k: ${value}`).get('k');
  return typeof probe === 'string' && probe === value ? value : JSON.stringify(value);
}

/** The scalar's new source text, keeping its quote style where the value allows it. */
function scalarText(node: Scalar, value: string): string {
  switch (node.type) {
    case Scalar.QUOTE_SINGLE:
      return `'${value.replaceAll("'", "''")}'`;
    case Scalar.QUOTE_DOUBLE:
      return JSON.stringify(value);
    default: {
      // A plain scalar that would read back as a number, boolean or null (e.g. a commit id of digits)
      // must be quoted to stay a string.
      return plainOrQuoted(value);
    }
  }
}

type Tree = { leaf: string } | { entries: [string, Tree][] } | { items: { entries: [string, Tree][] }[] };

/** What has to be written to create the remaining segments with `value` at the end. */
function buildTree(segs: readonly Segment[], value: string, file: string, path: string): Tree {
  const [seg, ...rest] = segs;
  if (!seg) return { leaf: plainOrQuoted(value) };
  if (seg.kind === 'key') return { entries: [[plainOrQuoted(seg.key), buildTree(rest, value, file, path)]] };
  if (seg.kind === 'index') {
    throw new ValuesKeyError(
      `${file}: ${path}: list item [${seg.index}] does not exist and cannot be created`,
    );
  }
  const inner = buildTree(rest, value, file, path);
  if (seg.field.length !== 1 || !('entries' in inner)) {
    throw new ValuesKeyError(
      `${file}: ${path}: no item has ${seg.field.join('.')}=${seg.value}, and it can only be created with a plain field and a key after it`,
    );
  }
  const field = plainOrQuoted(seg.field[0] as string);
  return { items: [{ entries: [[field, { leaf: plainOrQuoted(seg.value) }], ...inner.entries] }] };
}

function renderFlow(tree: Tree): string {
  if ('leaf' in tree) return tree.leaf;
  if ('entries' in tree) return `{${tree.entries.map(([k, t]) => `${k}: ${renderFlow(t)}`).join(', ')}}`;
  return `[${tree.items.map(renderFlow).join(', ')}]`;
}

function renderBlock(entries: [string, Tree][], indent: number): string {
  const pad = ' '.repeat(indent);
  return entries
    .map(([key, tree]) => {
      if ('leaf' in tree) return `${pad}${key}: ${tree.leaf}\n`;
      if ('entries' in tree) return `${pad}${key}:\n${renderBlock(tree.entries, indent + 2)}`;
      return `${pad}${key}:\n${tree.items.map((item) => renderItem(item.entries, indent + 2)).join('')}`;
    })
    .join('');
}

function renderItem(entries: [string, Tree][], indent: number): string {
  const block = renderBlock(entries, indent + 2);
  return `${' '.repeat(indent)}- ${block.slice(indent + 2)}`;
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

interface Splice {
  start: number;
  end: number;
  text: string;
}

/** Text to insert so the missing segments exist, written in the style of the container that lacks them. */
function creation(source: string, resolved: Resolved, value: string, file: string, path: string): Splice {
  const walked = resolved.walk as Extract<Walk, { found: false }>;
  const tree = buildTree(resolved.segs.slice(walked.at), value, file, path);
  const container = walked.node;
  const lineEnd = (pos: number) => ({ pos, prefix: source[pos - 1] === '\n' || pos === 0 ? '' : '\n' });
  if (isMap(container) && 'entries' in tree) {
    const last = container.items.at(-1);
    if (container.flow) {
      const start = last
        ? ((last.value as { range?: number[] } | null)?.range?.[1] ?? 0)
        : (container.range?.[0] ?? 0) + 1;
      const body = tree.entries.map(([k, t]) => `${k}: ${renderFlow(t)}`).join(', ');
      return { start, end: start, text: last ? `, ${body}` : body };
    }
    const first = container.items[0]?.key as { range?: number[] } | undefined;
    const indent = columnOf(source, first?.range?.[0] ?? 0);
    const { pos, prefix } = lineEnd(container.range?.[1] ?? source.length);
    return { start: pos, end: pos, text: prefix + renderBlock(tree.entries, indent) };
  }
  if (isSeq(container) && 'items' in tree) {
    const last = container.items.at(-1) as { range?: number[] } | undefined;
    if (container.flow) {
      const start = last ? (last.range?.[1] ?? 0) : (container.range?.[0] ?? 0) + 1;
      const body = tree.items.map(renderFlow).join(', ');
      return { start, end: start, text: last ? `, ${body}` : body };
    }
    const firstItem = container.items[0] as { range?: number[] } | undefined;
    const dash = source.lastIndexOf('-', firstItem?.range?.[0] ?? 0);
    const indent = columnOf(source, dash);
    const { pos, prefix } = lineEnd(container.range?.[1] ?? source.length);
    return {
      start: pos,
      end: pos,
      text: prefix + tree.items.map((i) => renderItem(i.entries, indent)).join(''),
    };
  }
  if (isScalar(container) && container.value === null && container.range) {
    // `key:` with no value: the new structure goes in its place, in flow style.
    const [start, end] = container.range;
    const space = source[start - 1] === ':' ? ' ' : '';
    return { start, end, text: space + renderFlow(tree) };
  }
  if (
    (container === null || container === undefined) &&
    walked.at === 0 &&
    'entries' in tree &&
    !source.trim()
  ) {
    return {
      start: source.length,
      end: source.length,
      text: lineEnd(source.length).prefix + renderBlock(tree.entries, 0),
    };
  }
  throw new ValuesKeyError(`${file}: ${path}: cannot create ${formatSegments(resolved.segs)} there`);
}

/** Sets a value in plain data (existing keys, then the segments being created): what the file must mean. */
function setPlain(
  root: unknown,
  concrete: readonly (string | number)[],
  created: readonly Segment[],
  value: string,
): unknown {
  type Node = Record<string | number, unknown>;
  const wrapper: Node = { root };
  let parent: Node = wrapper;
  let key: string | number = 'root';
  const descend = (next: string | number, empty: () => unknown) => {
    if (parent[key] === null || parent[key] === undefined) parent[key] = empty();
    parent = parent[key] as Node;
    key = next;
  };
  for (const step of concrete) descend(step, () => (typeof step === 'number' ? [] : {}));
  for (const seg of created) {
    if (seg.kind === 'key') descend(seg.key, () => ({}));
    else if (seg.kind === 'match') {
      descend(0, () => []);
      const list = parent as unknown as unknown[];
      list.push({ [seg.field[0] as string]: seg.value });
      key = list.length - 1;
    }
  }
  parent[key] = value;
  return wrapper.root;
}

/**
 * Changes only the promoted scalars by splicing new text into the original source at each node's
 * range: the Document API alone would re-print the file and normalise untouched lines. Missing keys are
 * created (when the edit allows it) by inserting lines in the style of their parent. The result must
 * mean exactly the original plus the edits, or nothing is changed.
 */
export function setScalars(
  source: string,
  edits: readonly ScalarEdit[],
  file: string,
): { text: string; changes: ScalarChange[] } {
  const original = parseDocs(source, file);
  const expected: unknown[] = original.map((doc): unknown => plainValue(doc, file));
  let text = source;
  const changes: ScalarChange[] = [];
  for (const edit of edits) {
    const docs = text === source ? original : parseDocs(text, file);
    const resolved = resolve(docs, edit, file);
    const multi = docs.length > 1;
    let splice: Splice;
    let before: string | undefined;
    if (resolved.walk.found) {
      const node = scalarNode(resolved, file, edit);
      if (!node.range) throw new ValuesKeyError(`${file}: ${edit.path} has no position in the source`);
      before = node.value === null ? undefined : scalarString(node);
      if (before === edit.value && typeof node.value === 'string') continue;
      if (node.type === Scalar.BLOCK_FOLDED || node.type === Scalar.BLOCK_LITERAL) {
        throw new ValuesKeyError(`${file}: ${edit.path} is a block scalar; use a plain or quoted value`);
      }
      splice = { start: node.range[0], end: node.range[1], text: scalarText(node, edit.value) };
      expected[resolved.doc] = setPlain(expected[resolved.doc], resolved.walk.concrete, [], edit.value);
    } else {
      if (edit.whenPresent) continue;
      if (!edit.create || resolved.doc < 0) {
        if (edit.create && resolved.doc < 0) {
          throw new ValuesKeyError(
            `${file} has ${docs.length} documents and none has ${edit.path}: set the app's document to say where to create it`,
          );
        }
        throw missing(file, edit);
      }
      splice = creation(text, resolved, edit.value, file, edit.path);
      const at = (resolved.walk as { at: number }).at;
      expected[resolved.doc] = setPlain(
        expected[resolved.doc],
        resolved.walk.concrete,
        resolved.segs.slice(at),
        edit.value,
      );
    }
    text = text.slice(0, splice.start) + splice.text + text.slice(splice.end);
    changes.push({
      path: edit.path,
      before,
      after: edit.value,
      ...(multi ? { document: resolved.doc } : {}),
    });
  }
  // Re-read what we wrote: the edit is only done if the file means exactly the original plus the edits.
  const check = parseDocs(text, file);
  const actual = check.map((doc): unknown => plainValue(doc, file));
  if (changes.length > 0 && !isDeepStrictEqual(actual, expected)) {
    const paths = changes.map((c) => c.path).join(', ');
    throw new ValuesKeyError(
      `${file}: setting ${paths} would change more than those values (an anchor shared with other keys?); nothing was changed`,
    );
  }
  return { text, changes };
}

/** Every scalar under maps and lists, by key path (lists by index), for each document. */
export function scalarsByPath(
  source: string,
  file: string,
): Map<string, { path: string; document?: number; value: string }> {
  const out = new Map<string, { path: string; document?: number; value: string }>();
  const docs = parseDocs(source, file);
  docs.forEach((doc, index) => {
    const document = docs.length > 1 ? index : undefined;
    const walkNode = (node: unknown, prefix: string): void => {
      if (isScalar(node)) {
        if (prefix)
          out.set(locatorKey({ path: prefix, document }), {
            path: prefix,
            document,
            value: scalarString(node),
          });
      } else if (isMap(node)) {
        for (const pair of node.items) {
          const key = keyOf(pair.key);
          if (key !== undefined && !/[.[\]\s]/.test(key))
            walkNode(pair.value, prefix ? `${prefix}.${key}` : key);
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, i) => walkNode(item, `${prefix}[${i}]`));
      }
    };
    walkNode(doc.contents, '');
  });
  return out;
}

/** The scalars that differ between two versions of a file: what a commit changed there. */
export function scalarChangesBetween(before: string, after: string, file: string): ScalarChange[] {
  const old = scalarsByPath(before, file);
  return [...scalarsByPath(after, file)]
    .filter(([key, now]) => old.get(key)?.value !== now.value)
    .map(([key, now]) => ({
      path: now.path,
      before: old.get(key)?.value,
      after: now.value,
      ...(now.document !== undefined ? { document: now.document } : {}),
    }));
}
