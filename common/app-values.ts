/** Where an app's values live beyond its tag path: passed from the config to the bump (pure: shared with workflows). */
export interface ValueOptions {
  /** The document of a multi-document values file: an index or a `field.path=value` selector. */
  document?: number | string;
  /** Create a missing key instead of failing. */
  create?: boolean;
  /** Where the digest of a `tag@sha256:…` goes; the tag path then gets the tag alone. */
  digestPath?: string;
}

/** Only the value options of an app's config (promote.yaml `apps.<name>`), none of its other keys. */
export function valueOptions(app: ValueOptions | undefined): ValueOptions {
  return {
    ...(app?.document !== undefined ? { document: app.document } : {}),
    ...(app?.create ? { create: true } : {}),
    ...(app?.digestPath ? { digestPath: app.digestPath } : {}),
  };
}

/** An OCI digest as it follows a tag: `1.5.0@sha256:<64 hex>`. */
export const DIGEST_PATTERN = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** Splits `tag@digest`; a plain tag has no digest. */
export function splitDigest(reference: string): { tag: string; digest?: string } {
  const at = reference.indexOf('@');
  if (at < 0) return { tag: reference };
  return { tag: reference.slice(0, at), digest: reference.slice(at + 1) };
}
