import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../server/tools.js';
import type { CliResult } from './cli.js';
import { eventually } from './wait.js';

/** A `promote` command still running, whose output can be waited on while it runs (e.g. `promote watch`). */
export class RunningCli {
  private out = '';
  readonly done: Promise<CliResult>;

  constructor(
    args: string[],
    options: { address: string; taskQueue?: string; env?: Record<string, string> },
  ) {
    const child = execa(process.execPath, [join(PROJECT_ROOT, 'bin', 'promote.js'), ...args], {
      cwd: PROJECT_ROOT,
      reject: false,
      env: {
        TEMPORAL_ADDRESS: options.address,
        ...(options.taskQueue ? { PROMOTE_TASK_QUEUE: options.taskQueue } : {}),
        PROMOTE_USER: 'ci-bot',
        ...options.env,
      },
      timeout: 180_000,
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      this.out += chunk.toString();
    });
    this.done = child.then((r) => ({ code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr }));
  }

  get stdout(): string {
    return this.out;
  }

  /** Waits until the output so far contains `text`. */
  async printed(text: string): Promise<void> {
    await eventually(`output containing ${JSON.stringify(text)}`, () =>
      Promise.resolve(this.out.includes(text) ? true : undefined),
    );
  }
}
