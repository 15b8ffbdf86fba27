import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigSchema, type PromoteConfig } from './schema.js';

import { CONFIG_FILE } from '../common/constants.js';

export { CONFIG_FILE };

export interface ConfigProblem {
  /** Dotted key path, e.g. `environments[1].approval`. */
  key: string;
  line?: number;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `${file} is invalid:\n` +
        problems
          .map((p) => `  ${file}${p.line ? `:${p.line}` : ''}: ${p.key || '(root)'}: ${p.message}`)
          .join('\n'),
    );
  }
}

function keyLabel(path: readonly PropertyKey[]): string {
  return path.reduce<string>((label, part) => {
    if (typeof part === 'number') return `${label}[${part}]`;
    return label ? `${label}.${String(part)}` : String(part);
  }, '');
}

/** The line of the deepest node that exists on the path, so a missing key points at its parent. */
function lineOf(root: Node | null, path: readonly PropertyKey[], lines: LineCounter): number | undefined {
  let node: unknown = root;
  let offset = root?.range?.[0];
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === part);
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      node = node.items[part];
      offset = (node as Node | undefined)?.range?.[0] ?? offset;
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

/**
 * promote.yaml is a page of settings: anything larger is a mistake or an attack, refused before
 * parsing. Bytes, as read from disk or git.
 */
export const MAX_CONFIG_BYTES = 256 * 1024;

/**
 * Aliases a promote.yaml may use: enough for shared anchors (`<<: *defaults`), far too few for an
 * alias bomb (nested aliases that expand exponentially when the document is converted).
 */
export const MAX_CONFIG_ALIASES = 100;

/** A problem with the file as a whole: too large, an alias bomb, nesting too deep to parse. */
export function configSizeProblem(bytes: number): ConfigProblem | undefined {
  if (bytes <= MAX_CONFIG_BYTES) return undefined;
  return {
    key: '',
    message: `the file is too large (${bytes} bytes; at most ${MAX_CONFIG_BYTES} bytes are read)`,
  };
}

/** Parses and validates promote.yaml text; every problem names file, line and key. */
export function parseConfig(text: string, file: string = CONFIG_FILE): PromoteConfig {
  const tooLarge = configSizeProblem(Buffer.byteLength(text, 'utf8'));
  if (tooLarge) throw new ConfigError(file, [tooLarge]);
  const lines = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  let value: unknown;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
    // Only a document without errors is converted; the alias cap turns an alias bomb into an error here.
    value = doc.errors.length > 0 ? undefined : doc.toJS({ maxAliasCount: MAX_CONFIG_ALIASES });
  } catch (error) {
    // The yaml library throws (not reports) on alias bombs and on nesting deep enough to exhaust the
    // stack: both are this file's fault, so a ConfigError, never a retryable crash.
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(file, [
      {
        key: '',
        message: /alias/i.test(reason)
          ? `too many YAML aliases (at most ${MAX_CONFIG_ALIASES}): ${reason}`
          : `cannot be read as YAML: ${reason}`,
      },
    ]);
  }
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        key: '',
        line: lines.linePos(e.pos[0]).line,
        message: e.message.split('\n')[0] ?? e.message,
      })),
    );
  }
  const result = ConfigSchema.safeParse(value);
  if (!result.success) {
    throw new ConfigError(
      file,
      result.error.issues.map((issue: z.core.$ZodIssue) => ({
        key: keyLabel(issue.path),
        line: lineOf(doc.contents, issue.path, lines),
        message: issue.message,
      })),
    );
  }
  return result.data;
}

/** The line where `path` (as zod paths are written) sits in `text`, for problems found after parsing. */
export function lineOfKey(text: string, path: readonly PropertyKey[]): number | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  return lineOf(doc.contents, path, lines);
}
