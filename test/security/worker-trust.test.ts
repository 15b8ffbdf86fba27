import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promoteCli } from '../support/cli.js';
import { TestGitHttp } from '../support/git-http.js';
import { TestRepo } from '../support/repo.js';
import type { DevServer } from '../../server/dev-server.js';
import { startTestDevServer } from '../support/dev-server.js';
import { WorkerProcess } from '../support/worker-process.js';

/**
 * The issue's own reproduction, end to end: a real `promote worker` with PROMOTE_GIT_TOKEN set, real
 * git HTTP servers on 127.0.0.1 that record every Authorization header, and `promote start` as CI runs it.
 */

const TOKEN = 'ghs_TrustTestToken0123456789abcdefABCDEF';
const BASIC = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;
const TASK_QUEUE = 'security-trust';

interface Host {
  repo: TestRepo;
  server: TestGitHttp;
  url: string;
}

// Its own server, not useTemporal(): the repositories live for the whole file, with one worker.
let temporal: DevServer;
let dir: string;
let worker: WorkerProcess | undefined;
/** The host the token is configured for; plain http allowed for it as a loopback test host. */
let configured: Host;
/** An allowed repository on another host: the worker may read it, but never with the token. */
let foreign: Host;
/** A host named for the token but not allowed plain http: the token must not go there either. */
let plainHttp: Host;
/** A repository the worker is not allowed to use at all. */
let outside: Host;

/** A repository under its own name (the allow-list matches the canonical key, which has no port). */
async function host(name: string): Promise<Host> {
  const repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
  await symlink(repo.url, join(dirname(repo.url), `${name}.git`));
  const server = await TestGitHttp.start(repo.url, 'x-access-token', TOKEN);
  return { repo, server, url: server.url(`${name}.git`) };
}
const hostPort = (h: Host) => `127.0.0.1:${h.server.port}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'promote-trust-'));
  temporal = await startTestDevServer({ dbFile: join(dir, 'temporal.db') });
  configured = await host('configured');
  foreign = await host('foreign');
  plainHttp = await host('plain-http');
  outside = await host('outside');
  worker = await WorkerProcess.start({
    TEMPORAL_ADDRESS: temporal.address,
    PROMOTE_TASK_QUEUE: TASK_QUEUE,
    PROMOTE_CACHE_DIR: join(dir, 'cache'),
    PROMOTE_DEMO_CLUSTER: configured.repo.cluster,
    PROMOTE_GIT_TOKEN: TOKEN,
    PROMOTE_ALLOWED_REPOSITORIES: [configured, foreign, plainHttp].map((h) => h.url).join(','),
    PROMOTE_GIT_TOKEN_HOSTS: `${hostPort(configured)},${hostPort(plainHttp)}`,
    PROMOTE_HTTP_LOOPBACK_HOSTS: `${hostPort(configured)},${hostPort(foreign)}`,
  });
}, 300_000);

afterAll(async () => {
  await worker?.stop();
  for (const h of [configured, foreign, plainHttp, outside]) {
    await h?.server.stop();
    await h?.repo.remove();
  }
  await temporal?.stop();
  await rm(dir, { recursive: true, force: true });
});

const start = (url: string) =>
  promoteCli(['start', '--repo', url, '--app', 'api=1.5.0', '--json'], {
    address: temporal.address,
    taskQueue: TASK_QUEUE,
  });

describe('a worker with PROMOTE_GIT_TOKEN and PROMOTE_ALLOWED_REPOSITORIES', () => {
  it('says at start which repositories it runs', () => {
    expect(worker?.log).toContain(`allowed repositories: ${configured.url}`);
  });

  it('gives the token to the host it is configured for (the feature still works)', async () => {
    const started = await start(configured.url);
    expect(started).toMatchObject({ code: 0 });
    expect(configured.server.seenAuthorizations).toContain(BASIC);
  });

  it('never sends the token to another host, even one whose repository it may read', async () => {
    const started = await start(foreign.url);
    // The host wants a token the worker does not give it: unreachable, exit 2.
    expect(started.code).toBe(2);
    expect(started.stderr).toContain('cannot read the repository');
    expect(foreign.server.seenAuthorizations.length).toBeGreaterThan(0);
    expect(foreign.server.seenAuthorizations.some((a) => a !== '')).toBe(false);
  });

  it('never sends the token over plain http to a host not allowed it as a loopback test host', async () => {
    const started = await start(plainHttp.url);
    expect(started.code).toBe(2);
    expect(plainHttp.server.seenAuthorizations.some((a) => a !== '')).toBe(false);
  });

  it('refuses a repository outside PROMOTE_ALLOWED_REPOSITORIES before fetching anything: exit 2', async () => {
    const started = await start(outside.url);
    expect(started.code).toBe(2);
    expect(started.stderr).toContain(`is not in this worker's PROMOTE_ALLOWED_REPOSITORIES`);
    expect(started.stderr).toContain(outside.url);
    // Not one request reached the repository's server.
    expect(outside.server.seenAuthorizations).toEqual([]);
  });
});
