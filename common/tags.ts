import { DIGEST_PATTERN, splitDigest } from './app-values.js';
import { sourceProblem } from './credentials.js';
/** The OCI distribution spec's tag grammar: it also keeps shell metacharacters out of every later step. */
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const APP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A tag, optionally pinned to a digest: `1.5.0` or `1.5.0@sha256:<64 hex>`. */
export function tagProblem(reference: string): string | undefined {
  const { tag, digest } = splitDigest(reference);
  if (digest !== undefined && !DIGEST_PATTERN.test(digest)) {
    return `invalid digest in ${JSON.stringify(reference)}: a digest is sha256:<64 hex> or sha512:<128 hex>`;
  }
  if (TAG_PATTERN.test(tag)) return undefined;
  return `invalid tag ${JSON.stringify(reference)}: a tag is 1-128 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-' (optionally followed by @sha256:<digest>)`;
}

export interface AppTag {
  app: string;
  tag: string;
}

/** Parses `app=tag` as given on the command line. */
export function parseAppTag(text: string): AppTag {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new Error(`expected app=tag, got ${JSON.stringify(text)}`);
  const app = text.slice(0, eq);
  const tag = text.slice(eq + 1);
  if (!APP_PATTERN.test(app)) throw new Error(`invalid app name ${JSON.stringify(app)}`);
  const problem = tagProblem(tag);
  if (problem) throw new Error(`${problem} (for app ${app})`);
  return { app, tag };
}

export interface Source {
  repo: string;
  ref: string;
  /**
   * The ref's committer time (ISO), read by the CLI from a checkout of the source at start
   * (client/source-time.ts); only `promote report` and the delivery metrics read it (lead time).
   */
  committedAt?: string;
}

/** Parses `app=<repo-url>@<ref>`; the last '@' separates the ref so ssh URLs (git@host:x) work. */
export function parseSource(text: string): { app: string; source: Source } {
  const eq = text.indexOf('=');
  // Checked on the whole value first: a malformed URL with a token must not be echoed in the error.
  const leak = eq > 0 ? sourceProblem(text.slice(0, eq), text.slice(eq + 1)) : undefined;
  if (leak) throw new Error(leak);
  const at = text.lastIndexOf('@');
  if (eq <= 0 || at <= eq + 1 || at === text.length - 1) {
    throw new Error(`expected app=<repo-url>@<ref>, got ${JSON.stringify(text)}`);
  }
  const ref = text.slice(at + 1);
  if (/[\s\0]/.test(text)) throw new Error(`source must not contain whitespace: ${JSON.stringify(text)}`);
  return { app: text.slice(0, eq), source: { repo: text.slice(eq + 1, at), ref } };
}
