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

/** True once no process of the group is left (killed ones included, until they are reaped). */
async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return true; // ESRCH: the whole group is gone.
    }
    if (Date.now() >= deadline) return false;
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
  let killAt = 0;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const onAbort = () => {
    const graceMs = options.graceMs ?? 10_000;
    killAt = Date.now() + graceMs;
    killGroup('SIGTERM');
    forceKill = setTimeout(() => killGroup('SIGKILL'), graceMs);
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const result = await child;
  // The command itself has exited; what it started may still run (a child that ignores SIGTERM) or be
  // dying. A caller that compensates next must not race any of it: the group gets the rest of its
  // grace, then SIGKILL, and is waited for (bounded) until it is gone.
  if (options.signal?.aborted && child.pid) {
    if (!(await groupGone(child.pid, Math.max(0, killAt - Date.now())))) {
      killGroup('SIGKILL');
      await groupGone(child.pid, GROUP_EXIT_WAIT_MS);
    }
  }
  clearTimeout(forceKill);
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
