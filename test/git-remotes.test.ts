import { afterEach, describe, expect, it } from '@jest/globals';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bumpValues, type BumpInput, type BumpResult } from '../activities/bump.js';
import { git, PushConflictError } from '../activities/git.js';
import { gitAuthFromEnv, sshCommand } from '../activities/git-auth.js';
import { RepositoryCache, RepositoryUnreachableError, type GitIdentity } from '../activities/repository.js';
import { TestGitHttp } from './support/git-http.js';
import { TestRepo } from './support/repo.js';
import { useTempDirs } from './support/temp-dirs.js';
import { devBumpInput } from './support/bump-input.js';
import { useSshd } from './support/sshd-suite.js';

const IDENTITY: GitIdentity = { name: 'Promote', email: 'promote@localhost' };

let repo: TestRepo;
const tempDir = useTempDirs('promote-cache-');
afterEach(async () => {
  await repo?.remove();
});

const bumpInput = (url: string, overrides: Partial<BumpInput> = {}): Promise<BumpInput> =>
  devBumpInput(repo.url, url, 'promote-remote-test', overrides);

describe('git over SSH to a real sshd, host keys checked', () => {
  const ssh = useSshd();

  it('bumps through an ssh:// remote with a key path that needs quoting', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    const cache = new RepositoryCache(await tempDir(), IDENTITY, {
      sshKeyPath: ssh.sshd.userKey,
      sshKeyHosts: [`127.0.0.1:${ssh.sshd.port}`],
      knownHostsPath: ssh.sshd.knownHosts,
    });
    const result = await bumpValues(cache, await bumpInput(ssh.sshd.url(repo.url)));
    const [bump] = await repo.commits();
    expect(bump).toMatchObject({ hash: result.commit, subject: 'feat(dev): update api to 1.5.0' });
    expect(await repo.file('environments/dev.yaml')).toContain('tag: "1.5.0"');
  });

  it('refuses a host whose key is not in known_hosts, and commits nothing', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    const strangers = join(await tempDir(), 'known_hosts');
    await writeFile(strangers, '');
    const cache = new RepositoryCache(await tempDir(), IDENTITY, {
      sshKeyPath: ssh.sshd.userKey,
      sshKeyHosts: [`127.0.0.1:${ssh.sshd.port}`],
      knownHostsPath: strangers,
    });
    const before = await repo.commits();
    const failure = bumpValues(cache, await bumpInput(ssh.sshd.url(repo.url)));
    await expect(failure).rejects.toThrow(RepositoryUnreachableError);
    await expect(failure).rejects.toThrow(
      /host key is known .* strict checking|Host key verification failed/,
    );
    expect(await repo.commits()).toEqual(before);
  });

  it('quotes every ssh argument for the shell git runs core.sshCommand with', () => {
    expect(sshCommand({ sshKeyPath: "/keys/it's key", knownHostsPath: '/etc/kh' })).toBe(
      `'ssh' '-o' 'BatchMode=yes' '-o' 'StrictHostKeyChecking=yes' '-i' '/keys/it'\\''s key' '-o' 'IdentitiesOnly=yes' '-o' 'UserKnownHostsFile=/etc/kh'`,
    );
    expect(() => sshCommand({ knownHostsPath: '/a b/kh' })).toThrow('must not contain whitespace');
  });
});

describe('git over HTTPS with a token', () => {
  const TOKEN = 'ghs_0123456789abcdefghijABCDEFGHIJ0123';
  let server: TestGitHttp;
  afterEach(async () => {
    await server?.stop();
    delete process.env.PROMOTE_GIT_TOKEN;
  });

  it('answers the credential request from the environment: never in the URL, config or errors', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    server = await TestGitHttp.start(repo.url, 'x-access-token', TOKEN);
    const url = server.url('deployment.git');
    const cacheDir = await tempDir();

    // Without a token the host refuses, and the error says so without leaking anything.
    const anonymous = new RepositoryCache(join(cacheDir, 'anonymous'), IDENTITY, gitAuthFromEnv({}));
    await expect(anonymous.fetch(url, 'main')).rejects.toThrow(RepositoryUnreachableError);

    process.env.PROMOTE_GIT_TOKEN = TOKEN;
    // The token's host, allowed plain http as a loopback test host (test/security covers the refusals).
    const host = `127.0.0.1:${server.port}`;
    const cache = new RepositoryCache(
      cacheDir,
      IDENTITY,
      gitAuthFromEnv({ ...process.env, PROMOTE_GIT_TOKEN_HOSTS: host, PROMOTE_HTTP_LOOPBACK_HOSTS: host }),
    );
    const result = await bumpValues(cache, await bumpInput(url));
    expect((await repo.commits())[0]?.hash).toBe(result.commit);
    expect(server.seenAuthorizations).toContain(
      `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`,
    );

    // The token is on no disk the worker writes: not in the mirror's config, helper or any file.
    for (const file of await readdir(cacheDir, { recursive: true })) {
      const text = await readFile(join(cacheDir, file)).catch(() => Buffer.alloc(0));
      expect(text.includes(TOKEN)).toBe(false);
    }
    const config = await git(['config', '--list', '--local'], { cwd: cache.mirrorDir(url) });
    expect(config).toContain(`remote.origin.url=${url}`);
    expect(config).toContain('credential.helper=');
  });
});

describe('the mirror cache', () => {
  it('clones again when the mirror is damaged', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    const cache = new RepositoryCache(await tempDir(), IDENTITY);
    const head = await cache.fetch(repo.url, 'main');
    const mirror = cache.mirrorDir(repo.url);

    await writeFile(join(mirror, 'HEAD'), 'garbage\n');
    expect(await cache.fetch(repo.url, 'main')).toBe(head);

    await rm(join(mirror, 'objects'), { recursive: true, force: true });
    expect(await cache.fetch(repo.url, 'main')).toBe(head);
    expect(await cache.readFile(repo.url, head, 'promote.yaml')).toContain('environments:');

    await writeFile(join(mirror, 'config'), '[core\nbroken');
    const result = await bumpValues(cache, await bumpInput(repo.url));
    expect((await repo.commits())[0]?.hash).toBe(result.commit);
  });

  it('a worker that never read the repository makes a worktree at a commit another worker pushed', async () => {
    // The holder's worker restarted with an empty cache (or another worker of the pool) deploys a bump
    // it did not make: the mirror is cloned on demand, not assumed.
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    const bumped = await bumpValues(
      new RepositoryCache(await tempDir(), IDENTITY),
      await bumpInput(repo.url),
    );
    const fresh = new RepositoryCache(await tempDir(), IDENTITY);
    const values = await fresh.withWorktree(
      repo.url,
      bumped.commit,
      (dir) => readFile(join(dir, 'environments/dev.yaml'), 'utf8'),
      { branch: 'main' },
    );
    expect(values).toContain('1.5.0');
  });

  it('an unreachable remote is reported as such, not mistaken for a damaged mirror', async () => {
    const cache = new RepositoryCache(await tempDir(), IDENTITY);
    await expect(cache.fetch(join(tmpdir(), 'promote-no-such-repo.git'), 'main')).rejects.toThrow(
      /cannot read the repository .*promote-no-such-repo\.git: git fetch of branch main failed/,
    );
  });
});

describe('concurrent pushers', () => {
  it('never lose a commit: promotions on several workers and a person pushing at once', async () => {
    repo = await TestRepo.create({ apps: { api: '1.4.0', web: '2.0.0' } });
    const shared = new RepositoryCache(await tempDir(), IDENTITY);
    const base = await bumpInput(repo.url);
    const promotions = ['dev', 'staging', 'prod'].flatMap((env) =>
      (['api', 'web'] as const).map((app, i) => ({
        env,
        app,
        // Half share one worker's cache (its mutex), half are other workers with their own.
        cache: i === 0 ? shared : undefined,
      })),
    );
    const person = (async () => {
      const hashes: string[] = [];
      for (let n = 0; n < 4; n++) {
        // A person whose push is rejected pulls and pushes again.
        for (;;) {
          const pushed = await repo
            .commitFile('notes.txt', `note ${n}\n`, `chore: note ${n}`)
            .catch(() => undefined);
          if (pushed) {
            hashes.push(pushed);
            break;
          }
        }
      }
      return hashes;
    })();
    // As Temporal does with the activity: a bump that lost its bounded push races is retried.
    const retried = async (run: () => Promise<BumpResult>): Promise<BumpResult> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await run();
        } catch (error) {
          if (!(error instanceof PushConflictError) || attempt >= 3) throw error;
        }
      }
    };
    const results = await Promise.all(
      promotions.map(async ({ env, app, cache }) => {
        const worker = cache ?? new RepositoryCache(await tempDir(), IDENTITY);
        return retried(() =>
          bumpValues(worker, {
            ...base,
            promotionId: `promote-${env}-${app}`,
            env,
            valuesFile: `environments/${env}.yaml`,
            edits: [{ app, tagPath: `${app}.image.tag`, tag: app === 'api' ? '1.5.0' : '2.1.0' }],
          }),
        );
      }),
    );
    const personal = await person;

    const log = await repo.commits();
    const hashes = new Set(log.map((c) => c.hash));
    for (const result of results) expect(hashes.has(result.commit)).toBe(true);
    for (const hash of personal) expect(hashes.has(hash)).toBe(true);
    expect(log.filter((c) => c.subject.startsWith('feat('))).toHaveLength(promotions.length);
    for (const env of ['dev', 'staging', 'prod']) {
      const values = await repo.file(`environments/${env}.yaml`);
      expect(values).toContain('tag: "1.5.0"');
      expect(values).toContain('tag: "2.1.0"');
    }
  }, 120_000);

  it('gives up clearly after a bounded number of attempts when the branch keeps moving', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    let races = 0;
    /** Someone pushes before every one of this worker's pushes. */
    class AlwaysRaced extends RepositoryCache {
      // Between reading the branch head and pushing the commit made on it.
      override async commitFile(...args: Parameters<RepositoryCache['commitFile']>) {
        races++;
        await repo.commitFile('notes.txt', `race ${races}\n`, `chore: race ${races}`);
        return super.commitFile(...args);
      }
    }
    const cache = new AlwaysRaced(await tempDir(), IDENTITY);
    const failure = bumpValues(cache, await bumpInput(repo.url));
    await expect(failure).rejects.toThrow(PushConflictError);
    await expect(failure).rejects.toThrow(/moved before each of 5 push attempts/);
    expect(races).toBe(5);
    const log = await repo.commits();
    expect(log.filter((c) => c.subject.startsWith('feat('))).toHaveLength(0);
    expect(log.filter((c) => c.subject.startsWith('chore: race'))).toHaveLength(5);
  }, 60_000);
});
