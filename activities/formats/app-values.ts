import { splitDigest, type ValueOptions } from '../../common/app-values.js';
import { hasKey, locatorKey, readScalars, type ScalarChange, type ScalarEdit } from './yaml-values.js';

/** One app's values to write: its tag (maybe `tag@digest`) and optional upstream revision. */
export interface AppValueEdit extends ValueOptions {
  tagPath: string;
  tag: string;
  revisionPath?: string;
  revision?: string;
}

/**
 * The scalar edits for an app. With a digest path, `tag@sha256:…` is split between the tag and digest
 * paths, and a plain tag clears a digest left by an earlier promotion (else the old digest would win).
 */
export function appScalarEdits(edit: AppValueEdit): ScalarEdit[] {
  const where = {
    ...(edit.document !== undefined ? { document: edit.document } : {}),
    ...(edit.create ? { create: true } : {}),
  };
  const { tag, digest } = edit.digestPath ? splitDigest(edit.tag) : { tag: edit.tag, digest: undefined };
  return [
    { path: edit.tagPath, value: tag, ...where },
    ...(edit.digestPath
      ? [
          digest
            ? { path: edit.digestPath, value: digest, ...where }
            : { path: edit.digestPath, value: '', ...where, create: false, whenPresent: true },
        ]
      : []),
    ...(edit.revisionPath && edit.revision
      ? [{ path: edit.revisionPath, value: edit.revision, ...where }]
      : []),
  ];
}

export interface AppValueRead extends ValueOptions {
  tagPath: string;
}

/**
 * The tag an app runs according to a values file, as a promotion would ask for it: `tag`, or
 * `tag@digest` when a digest is set. A missing key is an error unless the app may create it (then '').
 */
export function readAppTag(source: string, app: AppValueRead, file: string): string {
  const document = app.document !== undefined ? { document: app.document } : {};
  const tagAt = { path: app.tagPath, ...document };
  if (app.create && !hasKey(source, tagAt, file)) return '';
  const tag = readScalars(source, [tagAt], file).values().next().value ?? '';
  if (!app.digestPath) return tag;
  const digestAt = { path: app.digestPath, ...document };
  if (!hasKey(source, digestAt, file)) return tag;
  const digest = readScalars(source, [digestAt], file).values().next().value ?? '';
  return digest ? `${tag}@${digest}` : tag;
}

/** What the edits' locators hold in `after` that differs from `before` (keys absent in `before` included). */
export function changesBetween(
  before: string,
  after: string,
  edits: readonly ScalarEdit[],
  file: string,
): ScalarChange[] {
  const read = (source: string, edit: ScalarEdit) =>
    hasKey(source, edit, file) ? readScalars(source, [edit], file).get(locatorKey(edit)) : undefined;
  return edits.flatMap((edit) => {
    const [old, now] = [read(before, edit), read(after, edit)];
    if (now === undefined || old === now) return [];
    const document = typeof edit.document === 'number' ? { document: edit.document } : {};
    return [{ path: edit.path, before: old, after: now, ...document }];
  });
}
