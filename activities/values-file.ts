import { isMap, isScalar, parseDocument, Scalar } from 'yaml';

export interface ScalarEdit {
  /** Dotted key path, e.g. `a.image.tag`. */
  path: string;
  value: string;
}

export interface ScalarChange {
  path: string;
  before: string | undefined;
  after: string;
}

export class ValuesKeyError extends Error {
  override readonly name = 'ValuesKeyError';
}

/** A scalar as the string a values file means by it (numbers and booleans as written). */
function scalarString(node: Scalar): string {
  const value: unknown = node.value;
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : (node.source ?? JSON.stringify(value));
}

function splitPath(path: string): string[] {
  return path.split('.');
}

function parse(source: string, file: string) {
  const doc = parseDocument(source, { keepSourceTokens: true });
  if (doc.errors.length > 0) {
    throw new ValuesKeyError(`${file} is not valid YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
  }
  return doc;
}

/** Reads the scalar at each path; a missing or non-scalar path is an error naming file and key. */
export function readScalars(source: string, paths: readonly string[], file: string): Map<string, string> {
  const doc = parse(source, file);
  const out = new Map<string, string>();
  for (const path of paths) {
    const node = doc.getIn(splitPath(path), true);
    if (!isScalar(node)) {
      throw new ValuesKeyError(
        node === undefined ? `${file} has no key ${path}` : `${file}: ${path} is not a scalar value`,
      );
    }
    out.set(path, scalarString(node));
  }
  return out;
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
      const probe = parseDocument(`k: ${value}`).get('k');
      return typeof probe === 'string' && probe === value ? value : JSON.stringify(value);
    }
  }
}

/**
 * Changes only the promoted scalars by splicing new text into the original source at each node's
 * range: the Document API alone would re-print the file and normalise untouched lines.
 */
export function setScalars(
  source: string,
  edits: readonly ScalarEdit[],
  file: string,
): { text: string; changes: ScalarChange[] } {
  const doc = parse(source, file);
  const splices: { start: number; end: number; text: string }[] = [];
  const changes: ScalarChange[] = [];
  for (const edit of edits) {
    const node = doc.getIn(splitPath(edit.path), true);
    if (!isScalar(node) || !node.range) {
      throw new ValuesKeyError(
        node === undefined
          ? `${file} has no key ${edit.path}`
          : `${file}: ${edit.path} is not a scalar value`,
      );
    }
    const before = node.value === null ? undefined : scalarString(node);
    if (before === edit.value && typeof node.value === 'string') continue;
    if (node.type === Scalar.BLOCK_FOLDED || node.type === Scalar.BLOCK_LITERAL) {
      throw new ValuesKeyError(`${file}: ${edit.path} is a block scalar; use a plain or quoted value`);
    }
    splices.push({ start: node.range[0], end: node.range[1], text: scalarText(node, edit.value) });
    changes.push({ path: edit.path, before, after: edit.value });
  }
  let text = source;
  for (const s of splices.sort((a, b) => b.start - a.start)) {
    text = text.slice(0, s.start) + s.text + text.slice(s.end);
  }
  // Re-read what we wrote: the edit is only done if every value reads back as the exact string.
  const check = parse(text, file);
  for (const edit of edits) {
    const value = check.getIn(splitPath(edit.path));
    if (value !== edit.value) {
      throw new Error(
        `${file}: ${edit.path} reads back as ${JSON.stringify(value)} instead of ${edit.value}`,
      );
    }
  }
  return { text, changes };
}

/** Every scalar under nested maps, by dotted path: what a values file sets. */
export function scalarsByPath(source: string, file: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (node: unknown, prefix: string): void => {
    if (isScalar(node)) {
      if (prefix) out.set(prefix, scalarString(node));
    } else if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key !== undefined) walk(pair.value, prefix ? `${prefix}.${key}` : key);
      }
    }
  };
  walk(parse(source, file).contents, '');
  return out;
}
