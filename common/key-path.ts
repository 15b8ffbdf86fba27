/**
 * Key paths into values files: dotted keys, list items by index (`env[0]`) or by a field
 * (`services[name=api].image.tag`, `releases[name=api].set[name=image.tag].value`). A selector's value
 * runs to its closing bracket, so it may contain dots, slashes and colons (image names, helm `set` keys).
 */
export type Segment =
  | { kind: 'key'; key: string }
  | { kind: 'index'; index: number }
  | { kind: 'match'; field: string[]; value: string };

export class KeyPathError extends Error {
  override readonly name = 'KeyPathError';
}

const KEY = /^[^.[\]\s]+/;

/** Parses the inside of `[...]`: an index or `field.path=value`. */
export function parseSelector(text: string, path: string): Exclude<Segment, { kind: 'key' }> {
  if (/^[0-9]+$/.test(text)) return { kind: 'index', index: Number(text) };
  const eq = text.indexOf('=');
  const field = text.slice(0, eq);
  if (eq <= 0 || !/^[^.[\]\s=]+(\.[^.[\]\s=]+)*$/.test(field)) {
    throw new KeyPathError(
      `invalid selector [${text}] in ${path}: use [N] for the N-th item or [field=value] for the item whose field holds value`,
    );
  }
  return { kind: 'match', field: field.split('.'), value: text.slice(eq + 1) };
}

export function parseKeyPath(path: string): Segment[] {
  const segments: Segment[] = [];
  let rest = path;
  let first = true;
  while (rest.length > 0) {
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close < 0) throw new KeyPathError(`unclosed [ in key path ${path}`);
      segments.push(parseSelector(rest.slice(1, close), path));
      rest = rest.slice(close + 1);
    } else {
      if (!first) {
        if (!rest.startsWith('.')) throw new KeyPathError(`expected . or [ in key path ${path} at ${rest}`);
        rest = rest.slice(1);
      }
      const key = KEY.exec(rest)?.[0];
      if (!key) throw new KeyPathError(`empty key in key path ${path}`);
      segments.push({ kind: 'key', key });
      rest = rest.slice(key.length);
    }
    first = false;
  }
  if (segments.length === 0) throw new KeyPathError('the key path is empty');
  return segments;
}

/** The problem with a key path as promote.yaml would report it, or undefined when it parses. */
export function keyPathProblem(path: string): string | undefined {
  try {
    parseKeyPath(path);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A path's text up to (not including) segment `end`, for messages. */
export function formatSegments(segments: readonly Segment[], end = segments.length): string {
  return segments.slice(0, end).reduce((out, s) => {
    if (s.kind === 'key') return out ? `${out}.${s.key}` : s.key;
    if (s.kind === 'index') return `${out}[${s.index}]`;
    return `${out}[${s.field.join('.')}=${s.value}]`;
  }, '');
}
