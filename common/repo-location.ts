/**
 * Which repository strings name a place on the local disk. Git's own rule (`url.c`): a URL has "://",
 * an scp-like address (`host:path`) has a colon before any slash; everything else is a local path.
 * No Node APIs: the worker's checks and the CLI share it.
 */
export function isLocalPath(repo: string): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) return false;
  const colon = repo.indexOf(':');
  if (colon < 0) return true;
  const slash = repo.indexOf('/');
  return slash >= 0 && slash < colon;
}

/** A `file://` URL's path part as typed (`file:///srv/x.git` → `/srv/x.git`, `file://x.git` → `x.git`). */
export function fileUrlPath(repo: string): string | undefined {
  const match = /^file:\/\/(.*)$/i.exec(repo);
  if (!match) return undefined;
  const rest = match[1] ?? '';
  // `file://localhost/srv/x.git` is the same place as `file:///srv/x.git`.
  return rest.startsWith('localhost/') ? rest.slice('localhost'.length) : rest;
}

/**
 * A relative path means nothing to a worker, which runs in its own directory (its git would resolve
 * the path inside its cache), so it is refused there; the CLI resolves paths before sending them.
 */
export function relativePathProblem(repo: string): string | undefined {
  const path = fileUrlPath(repo) ?? (isLocalPath(repo) ? repo : undefined);
  if (path === undefined || path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path)) return undefined;
  return `the repository ${JSON.stringify(repo)} is a relative path, which the worker cannot resolve (it runs in its own directory): pass an absolute path or URL (the promote CLI resolves paths against your directory)`;
}
