import {
  ALLOWED_REPOSITORIES_ENV,
  allowedHosts,
  describeAllowedRepositories,
  parseAllowedRepositories,
  type AllowedRepositories,
} from '../common/allowed-repositories.js';
import {
  describeGitAuth,
  gitAuthFromEnv,
  hostList,
  isLoopback,
  type GitAuth,
} from '../activities/git-auth.js';

/**
 * What a worker trusts, from its environment: the repositories it runs (PROMOTE_ALLOWED_REPOSITORIES)
 * and where its credentials may go. Read once at start, so a bad setting stops the worker before it
 * polls, and the start-up log says what it allows.
 */
export interface WorkerTrust {
  allowed: AllowedRepositories;
  gitAuth: GitAuth;
  /** PROMOTE_GITHUB_API_URL, checked: https, or http to a loopback test host. */
  gitHubApiUrl?: string;
  /** Lines for the start-up log. */
  summary: string[];
}

export class TrustSettingsError extends Error {
  override readonly name = 'TrustSettingsError';
}

/**
 * The GitHub token or App key goes to the API base URL only: over https, or plain http to a loopback
 * test host named in PROMOTE_HTTP_LOOPBACK_HOSTS.
 */
function checkedGitHubApiUrl(raw: string | undefined, loopback: readonly string[]): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TrustSettingsError(`PROMOTE_GITHUB_API_URL=${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol === 'https:') return raw;
  if (url.protocol === 'http:' && isLoopback(url.host) && loopback.includes(url.host.toLowerCase()))
    return raw;
  throw new TrustSettingsError(
    `PROMOTE_GITHUB_API_URL=${raw}: the GitHub token goes over https only (plain http only to a loopback test host named in PROMOTE_HTTP_LOOPBACK_HOSTS)`,
  );
}

export function workerTrustFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  mode: 'worker' | 'dev' = 'worker',
): WorkerTrust {
  try {
    const allowed = parseAllowedRepositories(env[ALLOWED_REPOSITORIES_ENV], mode === 'dev' ? 'local' : 'any');
    const gitAuth = gitAuthFromEnv(env, allowedHosts(allowed));
    const loopback = hostList('PROMOTE_HTTP_LOOPBACK_HOSTS', env.PROMOTE_HTTP_LOOPBACK_HOSTS) ?? [];
    const gitHubApiUrl = checkedGitHubApiUrl(env.PROMOTE_GITHUB_API_URL, loopback);
    return {
      allowed,
      gitAuth,
      ...(gitHubApiUrl ? { gitHubApiUrl } : {}),
      summary: [describeAllowedRepositories(allowed), ...describeGitAuth(gitAuth)],
    };
  } catch (error) {
    if (error instanceof TrustSettingsError) throw error;
    throw new TrustSettingsError(error instanceof Error ? error.message : String(error));
  }
}
