import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repositoryHost } from '../common/allowed-repositories.js';

/**
 * How the worker's git reaches remotes: an SSH key and known_hosts file for ssh:// and scp-style
 * URLs, and an HTTPS token read from the worker's environment by a credential helper when git asks.
 * The token is never written to disk, put in a URL or an argv, so it cannot reach logs or history.
 * Each credential goes only to the hosts it is configured for: a repository anyone names must not
 * collect the worker's token or key.
 */
export interface GitAuth {
  sshKeyPath?: string;
  /** Hosts (`host` or `host:port`, as in the repository URL) the SSH key is offered to; none when absent. */
  sshKeyHosts?: readonly string[];
  knownHostsPath?: string;
  /**
   * Answer credential requests with `PROMOTE_GIT_TOKEN` or the file `PROMOTE_GIT_TOKEN_FILE` names
   * (and `PROMOTE_GIT_USERNAME`), read at run time.
   */
  token?: boolean;
  /** Hosts the token is given to, over https only; none when absent. */
  tokenHosts?: readonly string[];
  /** Loopback test hosts where plain http may carry the token (a real host never may). */
  httpLoopbackHosts?: readonly string[];
}

export class GitAuthError extends Error {
  override readonly name = 'GitAuthError';
}

/** A host list setting: comma-separated `host` or `host:port`, lower case. */
export function hostList(name: string, raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const hosts = raw
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  for (const host of hosts) {
    if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/.test(host))
      throw new GitAuthError(`${name}: ${JSON.stringify(host)} is not a host or host:port`);
  }
  return hosts;
}

export function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * The worker's git credentials and where each may go. By default both the token and the SSH key go
 * to the hosts of the repositories the worker is allowed (`defaultHosts`), and nowhere else.
 */
export function gitAuthFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  defaultHosts: readonly string[] = [],
): GitAuth {
  const tokenHosts = hostList('PROMOTE_GIT_TOKEN_HOSTS', env.PROMOTE_GIT_TOKEN_HOSTS) ?? defaultHosts;
  const sshKeyHosts = hostList('PROMOTE_GIT_SSH_KEY_HOSTS', env.PROMOTE_GIT_SSH_KEY_HOSTS) ?? defaultHosts;
  const loopback = hostList('PROMOTE_HTTP_LOOPBACK_HOSTS', env.PROMOTE_HTTP_LOOPBACK_HOSTS) ?? [];
  const notLoopback = loopback.filter((h) => !isLoopback(h));
  if (notLoopback.length > 0) {
    throw new GitAuthError(
      `PROMOTE_HTTP_LOOPBACK_HOSTS names ${notLoopback.join(', ')}: plain http may carry the token only to a loopback test host (127.0.0.1, localhost, [::1]); use https`,
    );
  }
  return {
    ...(env.PROMOTE_GIT_SSH_KEY ? { sshKeyPath: env.PROMOTE_GIT_SSH_KEY, sshKeyHosts } : {}),
    ...(env.PROMOTE_GIT_KNOWN_HOSTS ? { knownHostsPath: env.PROMOTE_GIT_KNOWN_HOSTS } : {}),
    ...(env.PROMOTE_GIT_TOKEN || env.PROMOTE_GIT_TOKEN_FILE ? { token: true, tokenHosts } : {}),
    ...(loopback.length > 0 ? { httpLoopbackHosts: loopback } : {}),
  };
}

/** Where the token may be sent, as git's credential contexts: `https://host`, or `http://` for loopback test hosts. */
export function tokenUrls(auth: GitAuth): string[] {
  if (!auth.token) return [];
  const loopback = new Set(auth.httpLoopbackHosts ?? []);
  return (auth.tokenHosts ?? []).flatMap((host) => [
    `https://${host}`,
    ...(loopback.has(host) ? [`http://${host}`] : []),
  ]);
}

/** Whether the SSH key is offered to the host of `url`. */
export function sshKeyFor(auth: GitAuth, url: string): boolean {
  const host = repositoryHost(url);
  return auth.sshKeyPath !== undefined && host !== undefined && (auth.sshKeyHosts ?? []).includes(host);
}

/** What the worker's start-up log says about its git credentials (no secret: only where they go). */
export function describeGitAuth(auth: GitAuth): string[] {
  const lines: string[] = [];
  if (auth.token) {
    const urls = tokenUrls(auth);
    lines.push(
      urls.length > 0
        ? `git token: given only to ${urls.join(', ')}`
        : 'WARNING: a git token is set but no host may receive it: set PROMOTE_GIT_TOKEN_HOSTS or PROMOTE_ALLOWED_REPOSITORIES',
    );
  }
  if (auth.sshKeyPath) {
    const hosts = auth.sshKeyHosts ?? [];
    lines.push(
      hosts.length > 0
        ? `git SSH key: offered only to ${hosts.join(', ')}`
        : 'WARNING: a git SSH key is set but no host may receive it: set PROMOTE_GIT_SSH_KEY_HOSTS or PROMOTE_ALLOWED_REPOSITORIES',
    );
  }
  return lines;
}

/** One argument as the POSIX shell reads it back verbatim: git runs core.sshCommand through `sh -c`. */
export function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * The ssh command git should use: never prompting, host keys always checked (an unknown or changed
 * host key fails the connection), and the configured key only. `withKey: false` (a host the key is
 * not for) offers no key at all: neither the configured one, nor an agent's, nor ~/.ssh defaults.
 */
export function sshCommand(auth: GitAuth, withKey = true): string {
  // ssh splits option values on whitespace (UserKnownHostsFile takes several files), so a path with
  // whitespace cannot be passed safely as an option value.
  if (auth.knownHostsPath && /\s/.test(auth.knownHostsPath)) {
    throw new GitAuthError(`the known_hosts path must not contain whitespace: ${auth.knownHostsPath}`);
  }
  const argv = [
    'ssh',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    ...(auth.sshKeyPath && withKey
      ? ['-i', auth.sshKeyPath, '-o', 'IdentitiesOnly=yes']
      : auth.sshKeyPath
        ? ['-o', 'IdentitiesOnly=yes', '-o', 'IdentityFile=none', '-o', 'IdentityAgent=none']
        : []),
    ...(auth.knownHostsPath ? ['-o', `UserKnownHostsFile=${auth.knownHostsPath}`] : []),
  ];
  return argv.map(shellQuote).join(' ');
}

/**
 * The credential helper: git tells it which protocol and host ask (on stdin), and it answers only
 * the ones the token is for. The token (or its file) is read from the environment at run time, so
 * the helper holds no secret and a rotated token file is picked up on the next fetch.
 */
function helperScript(urls: readonly string[]): string {
  const allowed = urls.map(shellQuote).join('|');
  return `#!/bin/sh
# git credential helper written by Promote: answers from the worker's environment, stores nothing,
# and only for the hosts the token is configured for.
[ "$1" = get ] || exit 0
protocol=
host=
while IFS= read -r line; do
  case $line in
    protocol=*) protocol=\${line#protocol=} ;;
    host=*) host=\${line#host=} ;;
  esac
done
host=$(printf '%s' "$host" | tr 'A-Z' 'a-z')
case "$protocol://$host" in
  ${allowed}) ;;
  *) exit 0 ;;
esac
if [ -n "$PROMOTE_GIT_TOKEN_FILE" ]; then
  token=$(cat "$PROMOTE_GIT_TOKEN_FILE") || exit 0
else
  token=$PROMOTE_GIT_TOKEN
fi
[ -n "$token" ] || exit 0
printf 'username=%s\\npassword=%s\\n' "\${PROMOTE_GIT_USERNAME:-x-access-token}" "$token"
`;
}

/**
 * Writes the credential helper (no secret in it) and returns the config of the mirror of `url`: its
 * ssh command, and the helper scoped by git to the token's hosts (the helper checks the host again).
 */
export async function gitAuthConfig(auth: GitAuth, dir: string, url: string): Promise<[string, string][]> {
  const config: [string, string][] = [['core.sshCommand', sshCommand(auth, sshKeyFor(auth, url))]];
  if (auth.token) {
    // The empty value drops helpers from the user's own config, so only this one answers.
    config.push(['credential.helper', '']);
    const urls = tokenUrls(auth);
    if (urls.length > 0) {
      await mkdir(dir, { recursive: true });
      const helper = join(dir, 'git-credential-promote');
      await writeFile(helper, helperScript(urls));
      await chmod(helper, 0o700);
      for (const context of urls) config.push([`credential.${context}.helper`, `!${shellQuote(helper)}`]);
    }
  }
  return config;
}
