// Secrets must not reach workflow input: it is stored in history, quoted in commits and in Slack.

/**
 * Whether a URL carries credentials: a password (`user:secret@`) in any scheme, or any user part over
 * http(s), where it is a token (`https://oauth2:glpat-…@`, `https://ghp_…@`). An ssh user name
 * (`ssh://git@host/x`, `git@host:x`) is not a secret.
 */
export function carriesCredentials(url: string): boolean {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/@]*)@/i.exec(url);
  const userinfo = match?.[1];
  if (userinfo === undefined) return false;
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  return userinfo.includes(':') || scheme === 'http' || scheme === 'https';
}

/**
 * An app's upstream source (`--source app=url@ref`) is quoted in the workflow input, the commit body
 * and Slack: a URL with credentials or a query string (where tokens also travel) is refused, and the
 * message never repeats the URL.
 */
export function sourceProblem(app: string, repoAndRef: string): string | undefined {
  if (carriesCredentials(repoAndRef)) {
    return `--source for ${app}: the URL carries credentials, which would be stored in workflow history and quoted in the commit: pass the URL without them`;
  }
  if (/^https?:\/\/[^?#]*[?#]/i.test(repoAndRef)) {
    return `--source for ${app}: the URL has a query string or fragment (where tokens travel): pass the plain repository URL`;
  }
  return undefined;
}
