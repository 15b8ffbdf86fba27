import { execa } from 'execa';
import { deployEnvironment } from './deploy-env.js';
import { redact, tail } from './redact.js';

export interface CommandOptions {
  cwd: string;
  /** Set on top of the base environment. */
  env?: Record<string, string>;
  /**
   * `deploy` (the default): the allow-listed environment of ./deploy-env.ts, so a deploy, diff or verify
   * command never sees the worker's secrets. `worker`: the worker's whole environment, for git, whose
   * credential helper reads PROMOTE_GIT_TOKEN from it.
   */
  baseEnv?: 'deploy' | 'worker';
  input?: string;
  /**
   * Aborting sends SIGTERM to the command's whole process group (helmfile's helm children too), then
   * SIGKILL after `graceMs` if anything is still alive.
   */
  signal?: AbortSignal;
  graceMs?: number;
  /** Output beyond this many characters per stream keeps only its tail. */
  maxOutput?: number;
  onOutput?: () => void;
}

export interface CommandResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  signal?: string;
  cancelled: boolean;
  failedToStart?: string;
}

const DEFAULT_MAX_OUTPUT = 64 * 1024;
const GROUP_EXIT_WAIT_MS = 5_000;

/** Resolves once no process of the group is left (killed ones included, until they are reaped). */
async function groupGone(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return; // ESRCH: the whole group is gone.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Runs one command from an argv array (never through a shell) and returns its bounded output.
 * It does not throw on failure: each caller turns a failure into its own typed error.
 */
export async function runCommand(argv: readonly string[], options: CommandOptions): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  const limit = options.maxOutput ?? DEFAULT_MAX_OUTPUT;
  const cancellable = options.signal !== undefined;
  let stdout = '';
  let stderr = '';
  const child = execa(file, args, {
    cwd: options.cwd,
    env: { ...(options.baseEnv === 'worker' ? process.env : deployEnvironment()), ...options.env },
    extendEnv: false,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    buffer: false,
    reject: false,
    // Its own process group, so cancellation reaches every process the command started.
    detached: cancellable,
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout = tail(stdout + chunk.toString('utf8'), limit);
    options.onOutput?.();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = tail(stderr + chunk.toString('utf8'), limit);
    options.onOutput?.();
  });

  let forceKill: NodeJS.Timeout | undefined;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const onAbort = () => {
    killGroup('SIGTERM');
    forceKill = setTimeout(() => killGroup('SIGKILL'), options.graceMs ?? 10_000);
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const result = await child;
  clearTimeout(forceKill);
  // The command itself has exited; what it started may still be dying. A caller that compensates next
  // must not race a process of the cancelled command, so wait (bounded) until its group is gone.
  if (options.signal?.aborted && child.pid) await groupGone(child.pid, GROUP_EXIT_WAIT_MS);
  options.signal?.removeEventListener('abort', onAbort);
  const cancelled = options.signal?.aborted === true && result.exitCode !== 0;
  const failedToStart =
    result.exitCode === undefined && !cancelled && !result.signal ? result.originalMessage : undefined;
  return {
    exitCode: result.exitCode,
    stdout,
    stderr,
    signal: result.signal,
    cancelled,
    failedToStart: failedToStart ? redact(failedToStart) : undefined,
  };
}
