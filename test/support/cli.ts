import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../server/tools.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `promote` executable, as CI would, against the given server and task queue. */
export async function promoteCli(
  args: string[],
  options: { address?: string; taskQueue?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  const result = await execa(process.execPath, [join(PROJECT_ROOT, 'bin', 'promote.js'), ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    reject: false,
    env: {
      ...(options.address ? { TEMPORAL_ADDRESS: options.address } : {}),
      ...(options.taskQueue ? { PROMOTE_TASK_QUEUE: options.taskQueue } : {}),
      PROMOTE_USER: 'ci-bot',
      ...options.env,
    },
    timeout: 120_000,
  });
  return { code: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** `promote` against this server and task queue, as a function of its arguments alone. */
export function cliOn(address: string, taskQueue?: string): (args: string[]) => Promise<CliResult> {
  return (args) => promoteCli(args, { address, taskQueue });
}

/**
 * Command-line flags from their values, in the order given: `{ env: 'staging', as: 'dana' }` is
 * `--env staging --as dana`, and `true` is a flag alone (`{ 'override-window': true }`). A test names
 * what it passes rather than spelling out the argv array.
 */
export function flags(values: Record<string, string | true>): string[] {
  return Object.entries(values).flatMap(([name, value]) =>
    value === true ? [`--${name}`] : [`--${name}`, value],
  );
}
