import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * How the worker's git reaches remotes: an SSH key and known_hosts file for ssh:// and scp-style
 * URLs, and an HTTPS token read from the worker's environment by a credential helper when git asks.
 * The token is never written to disk, put in a URL or an argv, so it cannot reach logs or history.
 */
export interface GitAuth {
  sshKeyPath?: string;
  knownHostsPath?: string;
  /** Answer HTTPS credential requests with `PROMOTE_GIT_TOKEN` (and `PROMOTE_GIT_USERNAME`), read at run time. */
  token?: boolean;
}

export class GitAuthError extends Error {
  override readonly name = 'GitAuthError';
}

export function gitAuthFromEnv(env: NodeJS.ProcessEnv = process.env): GitAuth {
  return {
    ...(env.PROMOTE_GIT_SSH_KEY ? { sshKeyPath: env.PROMOTE_GIT_SSH_KEY } : {}),
    ...(env.PROMOTE_GIT_KNOWN_HOSTS ? { knownHostsPath: env.PROMOTE_GIT_KNOWN_HOSTS } : {}),
    ...(env.PROMOTE_GIT_TOKEN ? { token: true } : {}),
  };
}

/** One argument as the POSIX shell reads it back verbatim: git runs core.sshCommand through `sh -c`. */
export function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * The ssh command git should use: never prompting, host keys always checked (an unknown or changed
 * host key fails the connection), and the configured key only.
 */
export function sshCommand(auth: GitAuth): string {
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
    ...(auth.sshKeyPath ? ['-i', auth.sshKeyPath, '-o', 'IdentitiesOnly=yes'] : []),
    ...(auth.knownHostsPath ? ['-o', `UserKnownHostsFile=${auth.knownHostsPath}`] : []),
  ];
  return argv.map(shellQuote).join(' ');
}

const HELPER = `#!/bin/sh
# git credential helper written by Promote: answers from the worker's environment, stores nothing.
[ "$1" = get ] || exit 0
[ -n "$PROMOTE_GIT_TOKEN" ] || exit 0
printf 'username=%s\\npassword=%s\\n' "\${PROMOTE_GIT_USERNAME:-x-access-token}" "$PROMOTE_GIT_TOKEN"
`;

/** Writes the credential helper (no secret in it) and returns the mirror config that uses it. */
export async function gitAuthConfig(auth: GitAuth, dir: string): Promise<[string, string][]> {
  const config: [string, string][] = [['core.sshCommand', sshCommand(auth)]];
  if (auth.token) {
    await mkdir(dir, { recursive: true });
    const helper = join(dir, 'git-credential-promote');
    await writeFile(helper, HELPER);
    await chmod(helper, 0o700);
    // The empty value drops helpers from the user's own config, so only this one answers.
    config.push(['credential.helper', ''], ['credential.helper', `!${shellQuote(helper)}`]);
  }
  return config;
}
