import { afterEach, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitAuthFromEnv } from '../../activities/git-auth.js';
import {
  RepositoryCache,
  RepositoryUnreachableError,
  type GitIdentity,
} from '../../activities/repository.js';
import { allowedHosts, parseAllowedRepositories } from '../../common/allowed-repositories.js';
import { promoteCli } from '../support/cli.js';
import { TestGitHttp } from '../support/git-http.js';
import { TestRepo } from '../support/repo.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { useSshd } from '../support/sshd-suite.js';

/** Each of the worker's git credentials goes only to the hosts it is configured for. */

const IDENTITY: GitIdentity = { name: 'Promote', email: 'promote@localhost' };
const TOKEN = 'ghs_CredentialScopeToken0123456789abcdEF';
const BASIC = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;

let repo: TestRepo | undefined;
const tempDir = useTempDirs('promote-creds-');
afterEach(async () => {
  await repo?.remove();
});

describe('the SSH key', () => {
  const ssh = useSshd();

  const keyEnv = () => ({
    PROMOTE_GIT_SSH_KEY: ssh.sshd.userKey,
    PROMOTE_GIT_KNOWN_HOSTS: ssh.sshd.knownHosts,
  });

  it('is not offered to a host it is not configured for', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    const url = ssh.sshd.url(repo.url);
    const elsewhere = new RepositoryCache(
      await tempDir(),
      IDENTITY,
      gitAuthFromEnv({ ...keyEnv(), PROMOTE_GIT_SSH_KEY_HOSTS: 'git.example.com' }),
    );
    await expect(elsewhere.fetch(url, 'main')).rejects.toThrow(RepositoryUnreachableError);
    await expect(elsewhere.fetch(url, 'main')).rejects.toThrow(/Permission denied/);
    // No hosts configured and no allowed repositories: the key goes nowhere.
    const nowhere = new RepositoryCache(await tempDir(), IDENTITY, gitAuthFromEnv(keyEnv()));
    await expect(nowhere.fetch(url, 'main')).rejects.toThrow(/Permission denied/);
  });

  it('is offered to its configured host, and by default to the hosts of the allowed repositories', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    const url = ssh.sshd.url(repo.url);
    const head = (await repo.commits())[0]?.hash;
    const named = new RepositoryCache(
      await tempDir(),
      IDENTITY,
      gitAuthFromEnv({ ...keyEnv(), PROMOTE_GIT_SSH_KEY_HOSTS: `127.0.0.1:${ssh.sshd.port}` }),
    );
    expect(await named.fetch(url, 'main')).toBe(head);
    const allowed = parseAllowedRepositories(url, 'any');
    const byDefault = new RepositoryCache(
      await tempDir(),
      IDENTITY,
      gitAuthFromEnv(keyEnv(), allowedHosts(allowed)),
      undefined,
      allowed,
    );
    expect(await byDefault.fetch(url, 'main')).toBe(head);
  });
});

describe('the git token', () => {
  let server: TestGitHttp | undefined;
  afterEach(async () => {
    await server?.stop();
  });

  async function served(): Promise<string> {
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    server = await TestGitHttp.start(repo.url, 'x-access-token', TOKEN);
    return server.url('deployment.git');
  }

  it('goes by default to the hosts of the allowed repositories, and can come from a file', async () => {
    const url = await served();
    const tokenFile = join(await tempDir(), 'token');
    await writeFile(tokenFile, `${TOKEN}\n`);
    const allowed = parseAllowedRepositories(url, 'any');
    const env = {
      PROMOTE_GIT_TOKEN_FILE: tokenFile,
      PROMOTE_HTTP_LOOPBACK_HOSTS: `127.0.0.1:${server?.port}`,
    };
    // The credential helper reads the file when git asks (so a rotated token is picked up): the
    // worker's own environment carries it, as in a pod with the Secret mounted.
    process.env.PROMOTE_GIT_TOKEN_FILE = tokenFile;
    try {
      const cache = new RepositoryCache(
        await tempDir(),
        IDENTITY,
        gitAuthFromEnv(env, allowedHosts(allowed)),
        undefined,
        allowed,
      );
      expect(await cache.fetch(url, 'main')).toBe((await repo?.commits())?.[0]?.hash);
      expect(server?.seenAuthorizations).toContain(BASIC);
    } finally {
      delete process.env.PROMOTE_GIT_TOKEN_FILE;
    }
  });

  it('never goes over plain http, even to its configured host, unless that is a named loopback test host', async () => {
    const url = await served();
    process.env.PROMOTE_GIT_TOKEN = TOKEN;
    try {
      const cache = new RepositoryCache(
        await tempDir(),
        IDENTITY,
        gitAuthFromEnv({ PROMOTE_GIT_TOKEN: TOKEN, PROMOTE_GIT_TOKEN_HOSTS: `127.0.0.1:${server?.port}` }),
      );
      await expect(cache.fetch(url, 'main')).rejects.toThrow(RepositoryUnreachableError);
      expect(server?.seenAuthorizations.length).toBeGreaterThan(0);
      expect(server?.seenAuthorizations.some((a) => a !== '')).toBe(false);
    } finally {
      delete process.env.PROMOTE_GIT_TOKEN;
    }
  });

  it('is refused a non-loopback host for plain http', () => {
    expect(() =>
      gitAuthFromEnv({ PROMOTE_GIT_TOKEN: TOKEN, PROMOTE_HTTP_LOOPBACK_HOSTS: 'git.example.com' }),
    ).toThrow(/only to a loopback test host/);
  });
});

describe('promote worker refuses settings that would send credentials where they should not (exit 2)', () => {
  // Nothing listens on port 1: a worker that got past its settings would fail to connect (exit 1).
  const worker = (env: Record<string, string>) =>
    promoteCli(['worker'], { address: '127.0.0.1:1', env: { PROMOTE_HEALTH_PORT: '', ...env } });

  it('a GitHub API over plain http', async () => {
    const result = await worker({
      GITHUB_TOKEN: TOKEN,
      PROMOTE_GITHUB_API_URL: 'http://ghe.example.com/api/v3',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the GitHub token goes over https only');
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
  });

  it('plain http to a host that is not loopback', async () => {
    const result = await worker({ PROMOTE_GIT_TOKEN: TOKEN, PROMOTE_HTTP_LOOPBACK_HOSTS: 'git.example.com' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PROMOTE_HTTP_LOOPBACK_HOSTS names git.example.com');
  });

  it('a secret file that cannot be read', async () => {
    const result = await worker({ GITHUB_TOKEN_FILE: join(tmpdir(), 'promote-no-such-secret') });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('GITHUB_TOKEN_FILE=');
  });

  it('without PROMOTE_ALLOWED_REPOSITORIES, says loudly that it runs any repository', async () => {
    const result = await worker({ PROMOTE_GIT_TOKEN: TOKEN });
    const output = result.stdout + result.stderr;
    expect(output).toContain('WARNING: PROMOTE_ALLOWED_REPOSITORIES is not set');
    // And that its token goes nowhere until hosts are named.
    expect(output).toContain('a git token is set but no host may receive it');
  });
});
