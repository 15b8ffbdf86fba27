import { mkdir } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { Channel, GRPC, GrpcError } from '../client/wire/grpc.js';
import { SERVICE } from '../client/wire/service.js';
import { SEARCH_ATTRIBUTE_FLAGS } from '../common/search-attributes.js';
import { ensureTool, TEMPORAL_CLI } from './tools.js';

export interface DevServerOptions {
  port: number;
  uiPort: number;
  /** SQLite file for persistence across restarts; the folder is created. */
  dbFile: string;
  /** `ip` to bind; localhost by default so the dev server is never exposed. */
  ip?: string;
  ui?: boolean;
  log?: (message: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  /** The server process, for whoever measures its CPU and memory (the benchmark). */
  pid: number | undefined;
  stop(): Promise<void>;
  /** Resolves when the server process exits for any reason. */
  exited: Promise<void>;
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `temporal server start-dev` with persistence, the Web UI and Promote's search attributes registered. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  if (await portOpen(ip, options.port)) {
    throw new Error(
      `port ${options.port} is already in use: is another Temporal server running? Use --port to pick another.`,
    );
  }
  const binary = await ensureTool(TEMPORAL_CLI, options.log);
  await mkdir(dirname(options.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(options.port),
    '--db-filename',
    options.dbFile,
    // WAL keeps the database consistent if the server is killed mid-write.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--log-level',
    'error',
    ...SEARCH_ATTRIBUTE_FLAGS.flatMap((flag) => ['--search-attribute', flag]),
    ...(options.ui === false ? ['--headless'] : ['--ui-port', String(options.uiPort)]),
  ];
  const child: ResultPromise = execa(binary, args, {
    reject: false,
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
    buffer: false,
    forceKillAfterDelay: 10_000,
  });
  const exited = child.then(() => undefined);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });

  const deadline = Date.now() + 60_000;
  let running = true;
  void exited.then(() => (running = false));
  while (!(await portOpen(ip, options.port))) {
    if (!running) throw new Error(`temporal server start-dev exited during start-up:\n${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `temporal server start-dev did not open port ${options.port} within 60s:\n${stderr.trim()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    await waitForFrontend(`${ip}:${options.port}`, { timeoutMs: Math.max(1_000, deadline - Date.now()) });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    address: `${ip}:${options.port}`,
    uiUrl: `http://localhost:${options.uiPort}`,
    pid: child.pid,
    exited,
    async stop() {
      if (!running) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const GET_SYSTEM_INFO = `/${SERVICE}/GetSystemInfo`;

/**
 * Waits until the frontend answers GetSystemInfo, the first call every SDK connection makes. The port
 * opens before the frontend is healthy: in that window every call is answered UNAVAILABLE ("Frontend is
 * not healthy yet"), and a worker connecting then fails to start. Any other answer is final.
 */
export async function waitForFrontend(
  address: string,
  { timeoutMs, retryMs = 100 }: { timeoutMs: number; retryMs?: number },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const channel = await Channel.open({ address, metadata: {}, connectTimeoutMs: 2_000 }).catch(
      (error: Error) => {
        last = error.message;
        return undefined;
      },
    );
    try {
      // An empty GetSystemInfoRequest: no fields set, zero bytes.
      if (channel) return void (await channel.unary(GET_SYSTEM_INFO, new Uint8Array(0), Date.now() + 2_000));
    } catch (error) {
      if (!(error instanceof GrpcError) || error.code !== GRPC.unavailable) throw error;
      last = error.details;
    } finally {
      channel?.close();
    }
    if (Date.now() + retryMs > deadline)
      throw new Error(
        `the Temporal frontend at ${address} was not ready within ${timeoutMs / 1000}s: ${last}`,
      );
    await new Promise((r) => setTimeout(r, retryMs));
  }
}
