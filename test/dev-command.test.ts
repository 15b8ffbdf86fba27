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
    // `freePort` only says a port was free a moment ago; on a shared machine someone may take it before
    // `promote dev` binds it. A start that fails on a taken port is retried on fresh ports.
    let port = 0;
    let uiPort = 0;
    let output = '';
    let dbFile: string;
    for (let attempt = 1; ; attempt++) {
      dbFile = join(dir, `temporal-${attempt}.db`);
      [port, uiPort] = [await freePort(), await freePort()];
      output = '';
      const child = execa(
        process.execPath,
        [
          join(PROJECT_ROOT, 'bin', 'promote.js'),
          'dev',
          '--port',
          String(port),
          '--ui-port',
          String(uiPort),
          '--db-file',
          dbFile,
        ],
        {
          reject: false,
          buffer: false,
          env: { PROMOTE_CACHE_DIR: join(dir, 'cache'), PROMOTE_DEMO_CLUSTER: repo.cluster },
        },
      );
      dev = child;
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const started = await eventually('promote dev to be ready or to exit', () =>
        Promise.resolve(
          output.includes('worker running') ? true : child.exitCode !== null ? false : undefined,
        ),
      );
      if (started) break;
      const portTaken = /already in use|address already in use|bind/i.test(output);
      if (!portTaken || attempt === 3) throw new Error(`promote dev did not start:\n${output}`);
    }
    expect(output).toContain(`Web UI: http://localhost:${uiPort}`);
    await eventually('the Web UI to listen', async () => ((await portOpen(uiPort)) ? true : undefined));

    const result = await promoteCli(['start', '--repo', repo.url, '--app', 'api=1.5.0', '--wait', '--json'], {
      address: `127.0.0.1:${port}`,
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded' });
    // The search attributes were registered: visibility queries on them work.
    // Visibility is eventually consistent: poll until the closed run is listed with its final state.
    const listed = await eventually('the promotion to be listed as succeeded', async () => {
      const result = await promoteCli(['list', '--app', 'api', '--json'], { address: `127.0.0.1:${port}` });
      return result.stdout.includes('"succeeded"') ? result : undefined;
    });
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ state: 'succeeded', env: 'dev', apps: ['api=1.5.0'] }),
    ]);

    dev.kill('SIGTERM');
    const exit = await dev;
    expect(exit.exitCode).toBe(0);
    expect(output).toContain('stopped');
    expect(await portOpen(port)).toBe(false);
    // State lives in the database file (the resilience tests restart a server on one).
    expect(existsSync(dbFile)).toBe(true);
  });

  it('refuses a port that is already taken', async () => {
    dir = await mkdtemp(join(tmpdir(), 'promote-dev-'));
    // A port this test holds, chosen by the OS: nobody can take it between choosing and binding.
    const server = (await import('node:net')).createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const taken = typeof address === 'object' && address ? address.port : 0;
    try {
      const result = await promoteCli(['dev', '--port', String(taken), '--db-file', join(dir, 'x.db')]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${taken} is already in use`);
    } finally {
      server.close();
    }
  });
});
