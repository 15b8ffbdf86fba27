import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { execa } from 'execa';
import { startDevServer, type DevServer } from '../server/dev-server.js';
import { freePort } from '../server/ports.js';
import { PROJECT_ROOT } from '../server/tools.js';
import { connectClient } from '../worker/connection.js';
import { WorkerProcess } from '../test/support/worker-process.js';

export const PROMOTE_BIN = join(PROJECT_ROOT, 'bin', 'promote.js');

export interface CliRun {
  /** Milliseconds from launch to exit (or to the first output line, when asked). */
  ms: number;
  /** Wall-clock time of the launch, to compare with server and deploy-command timestamps. */
  launchedAt: number;
  stdout: string;
  stderr: string;
  code: number;
}

/** A dev server started the way `promote dev` starts it, a worker, and a client: what every phase runs against. */
export class Harness {
  private workers: WorkerProcess[] = [];

  private constructor(
    readonly dir: string,
    readonly server: DevServer,
    readonly client: Client,
  ) {}

  static async start(): Promise<Harness> {
    const dir = await mkdtemp(join(tmpdir(), 'promote-bench-'));
    const server = await startDevServer({
      port: await freePort(),
      uiPort: await freePort(),
      dbFile: join(dir, 'temporal.db'),
      ui: false,
    });
    const client = await connectClient({ address: server.address });
    return new Harness(dir, server, client);
  }

  stampsFile(queue: string): string {
    return join(this.dir, `stamps-${queue}.log`);
  }

  /** Starts a worker serving `queue`, with its own repository cache. */
  async startWorker(queue: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
    // In this run's process group: an interrupted bench takes its workers with it.
    const worker = await WorkerProcess.start(
      {
        TEMPORAL_ADDRESS: this.server.address,
        PROMOTE_TASK_QUEUE: queue,
        PROMOTE_CACHE_DIR: join(this.dir, `cache-${queue}`),
        BENCH_STAMPS: this.stampsFile(queue),
        // Deploy commands get an allow-listed environment: the stamp file is handed over by name.
        PROMOTE_DEPLOY_ENV: 'BENCH_STAMPS',
        ...env,
      },
      { ownGroup: false },
    );
    this.workers.push(worker);
    return worker;
  }

  /** Runs the real `promote` executable as CI would; `untilLine` stops the clock at the first stdout line. */
  async cli(args: string[], queue: string, options: { untilLine?: boolean } = {}): Promise<CliRun> {
    const launchedAt = Date.now();
    const start = performance.now();
    const child = execa(process.execPath, [PROMOTE_BIN, ...args], {
      cwd: PROJECT_ROOT,
      reject: false,
      env: { TEMPORAL_ADDRESS: this.server.address, PROMOTE_TASK_QUEUE: queue, PROMOTE_USER: 'bench' },
      timeout: 300_000,
    });
    let firstLine: number | undefined;
    if (options.untilLine) {
      let seen = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (firstLine === undefined && seen.includes('\n')) firstLine = performance.now();
      });
    }
    const result = await child;
    const end = firstLine ?? performance.now();
    const run = {
      ms: end - start,
      launchedAt,
      stdout: String(result.stdout),
      stderr: String(result.stderr),
      code: result.exitCode ?? -1,
    };
    if (run.code !== 0) throw new Error(`promote ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
    return run;
  }

  /** Deploy-command stamps of a queue's worker: epoch ms, action, env, promotion id. */
  async stamps(queue: string): Promise<Stamp[]> {
    const text = await readFile(this.stampsFile(queue), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [ns = '0', event = '', env = '', id = ''] = line.split(' ');
        return { at: Number(BigInt(ns) / 1000n) / 1000, event, env, id };
      });
  }

  /** What the running workers wrote last, for a failed phase's report. */
  workerOutput(): string {
    return this.workers.map((w) => w.log.slice(-4_000)).join('\n');
  }

  /** Stops the workers started so far: an idle worker still polls, and would skew the next phase. */
  async stopWorkers(): Promise<void> {
    for (const worker of this.workers.splice(0)) await worker.stop().catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.stopWorkers();
    await this.client.connection.close();
    await this.server.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface Stamp {
  at: number;
  event: string;
  env: string;
  id: string;
}
