import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { PROJECT_ROOT } from '../../server/tools.js';

/**
 * `promote worker` as its own process, handed over once it polls. By default in its own process group,
 * so a test can kill it the way a machine dies: SIGKILL to the worker and every deploy command it
 * started, with no chance to clean up. The benchmark starts it in the group of its own run instead, so
 * that an interrupted run takes its workers with it.
 */
export class WorkerProcess {
  private output = '';

  private constructor(
    private readonly child: ResultPromise,
    private readonly ownGroup: boolean,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  static async start(
    env: Record<string, string>,
    { ownGroup = true }: { ownGroup?: boolean } = {},
  ): Promise<WorkerProcess> {
    const child = execa(process.execPath, [join(PROJECT_ROOT, 'bin', 'promote.js'), 'worker'], {
      env,
      detached: ownGroup,
      reject: false,
      buffer: false,
      stdin: 'ignore',
    });
    const worker = new WorkerProcess(child, ownGroup);
    const deadline = Date.now() + 180_000;
    while (!worker.output.includes('worker polling')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`worker did not start:\n${worker.output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return worker;
  }

  /** The worker's process id (the leader of its process group, when it has its own). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get log(): string {
    return this.output;
  }

  /** SIGKILL to the whole process group (the worker alone when it has none): its deploy commands die mid-step. */
  async kill(): Promise<void> {
    try {
      if (this.child.pid) process.kill(this.ownGroup ? -this.child.pid : this.child.pid, 'SIGKILL');
    } catch {
      // The group is gone already (a worker that exited after a SIGTERM).
    }
    await this.child;
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.child;
  }
}
