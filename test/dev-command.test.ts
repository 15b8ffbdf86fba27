import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { freePort } from '../server/ports.js';
import { PROJECT_ROOT } from '../server/tools.js';
import { promoteCli } from './support/cli.js';
import { TestRepo } from './support/repo.js';
import { eventually } from './support/wait.js';

let dir: string | undefined;
let repo: TestRepo | undefined;
let dev: ResultPromise | undefined;

afterEach(async () => {
  dev?.kill('SIGKILL');
  await dev?.catch(() => undefined);
  await repo?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('promote dev', () => {
  it('runs the server, Web UI and a worker, serves a promotion, and stops cleanly on SIGTERM', async () => {
    dir = await mkdtemp(join(tmpdir(), 'promote-dev-'));
    repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    const [port, uiPort] = [await freePort(), await freePort()];
    let output = '';
    dev = execa(
      process.execPath,
      [
        join(PROJECT_ROOT, 'bin', 'promote.js'),
        'dev',
        '--port',
        String(port),
        '--ui-port',
        String(uiPort),
        '--db-file',
        join(dir, 'temporal.db'),
      ],
      {
        reject: false,
        buffer: false,
        env: { PROMOTE_CACHE_DIR: join(dir, 'cache'), PROMOTE_DEMO_CLUSTER: repo.cluster },
      },
    );
    dev.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually('promote dev to be ready', () =>
      Promise.resolve(output.includes('worker running') ? true : undefined),
    );
    expect(output).toContain(`Web UI: http://localhost:${uiPort}`);
    await eventually('the Web UI to listen', async () => ((await portOpen(uiPort)) ? true : undefined));

    const result = await promoteCli(['start', '--repo', repo.url, '--app', 'api=1.5.0', '--wait', '--json'], {
      address: `127.0.0.1:${port}`,
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded' });
    // The search attributes were registered: visibility queries on them work.
    const listed = await promoteCli(['list', '--app', 'api', '--json'], { address: `127.0.0.1:${port}` });
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ state: 'succeeded', env: 'dev', apps: ['api=1.5.0'] }),
    ]);

    dev.kill('SIGTERM');
    const exit = await dev;
    expect(exit.exitCode).toBe(0);
    expect(output).toContain('stopped');
    expect(await portOpen(port)).toBe(false);
    // State lives in the database file (the resilience tests restart a server on one).
    expect(existsSync(join(dir, 'temporal.db'))).toBe(true);
  });

  it('refuses a port that is already taken', async () => {
    dir = await mkdtemp(join(tmpdir(), 'promote-dev-'));
    const taken = await freePort();
    const server = (await import('node:net')).createServer().listen(taken, '127.0.0.1');
    try {
      const result = await promoteCli(['dev', '--port', String(taken), '--db-file', join(dir, 'x.db')]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${taken} is already in use`);
    } finally {
      server.close();
    }
  });
});
