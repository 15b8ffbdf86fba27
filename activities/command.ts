import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
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
  /**
   * Shown output (errors, logs, deploy output) beyond this many characters per stream keeps only its
   * tail, marked with how much was cut.
   */
  maxOutput?: number;
  /**
   * stdout is data (file contents, `git log` scans, manifests, JSON): kept whole, never cut. Past
   * `maxDataBytes` the command is stopped and runCommand throws OutputTooLargeError instead.
   */
  stdoutIsData?: boolean;
  /** The hard limit on data output (default 256 MiB): a clear failure, not a silent cut. */
  maxDataBytes?: number;
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
const DEFAULT_MAX_DATA_BYTES = 256 * 1024 * 1024;

/** Data output larger than anything a deployment repository holds: failing is clearer than cutting it. */
export class OutputTooLargeError extends Error {
  override readonly name = 'OutputTooLargeError';
  constructor(
    readonly argv: readonly string[],
    readonly limit: number,
  ) {
    super(
      redact(`${argv.slice(0, 3).join(' ')}: output exceeded ${limit} bytes; it is data and is never cut`),
    );
  }
}

/** Keeps a stream whole, as bytes, and decodes it once at the end: no character is split at a chunk border. */
function collectData(stream: Readable, limit: number, onTooLarge: () => void) {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let exceeded = false;
  stream.on('data', (chunk: Buffer) => {
    if (exceeded) return;
    bytes += chunk.length;
    if (bytes > limit) {
      exceeded = true;
      chunks.length = 0;
      onTooLarge();
      return;
    }
    chunks.push(chunk);
  });
  return {
    get exceeded() {
      return exceeded;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

/**
 * Keeps the last `limit` characters of a stream that is only shown, decoded by a StringDecoder (which
 * holds back a character split between chunks), with a marker saying how many bytes were cut.
 */
function collectShown(stream: Readable, limit: number) {
  const decoder = new StringDecoder('utf8');
  let kept = '';
  let total = 0;
  stream.on('data', (chunk: Buffer) => {
    total += chunk.length;
    kept = keepTail(kept + decoder.write(chunk), limit);
  });
  return {
    text: () => {
      const all = keepTail(kept + decoder.end(), limit);
      const cut = total - Buffer.byteLength(all);
      return cut > 0 ? tail(all, limit, cut) : all;
    },
  };
}

/** The last `limit` characters, without splitting a surrogate pair. */
function keepTail(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let start = text.length - limit;
  const code = text.charCodeAt(start);
  if (code >= 0xdc00 && code <= 0xdfff) start++;
  return text.slice(start);
}
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
 * Runs one command from an argv array (never through a shell) and returns its output: data whole,
 * shown output bounded. It does not throw on failure (each caller turns a failure into its own typed
 * error), except OutputTooLargeError when data passes its hard limit.
 */
export async function runCommand(argv: readonly string[], options: CommandOptions): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  const limit = options.maxOutput ?? DEFAULT_MAX_OUTPUT;
  const cancellable = options.signal !== undefined;
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
  const dataLimit = options.maxDataBytes ?? DEFAULT_MAX_DATA_BYTES;
  const tooLarge = () => {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  };
  const stdout = child.stdout
    ? options.stdoutIsData
      ? collectData(child.stdout, dataLimit, tooLarge)
      : collectShown(child.stdout, limit)
    : undefined;
  const stderr = child.stderr ? collectShown(child.stderr, limit) : undefined;
  const progress = () => options.onOutput?.();
  child.stdout?.on('data', progress);
  child.stderr?.on('data', progress);

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
  if (stdout && 'exceeded' in stdout && stdout.exceeded) throw new OutputTooLargeError(argv, dataLimit);
  const cancelled = options.signal?.aborted === true && result.exitCode !== 0;
  const failedToStart =
    result.exitCode === undefined && !cancelled && !result.signal ? result.originalMessage : undefined;
  return {
    exitCode: result.exitCode,
    stdout: stdout?.text() ?? '',
    stderr: stderr?.text() ?? '',
    signal: result.signal,
    cancelled,
    failedToStart: failedToStart ? redact(failedToStart) : undefined,
  };
}
