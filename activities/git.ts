import { CancelledFailure, Context } from '@temporalio/activity';
import { runCommand } from './command.js';
import { redact, tail } from './redact.js';

export class GitError extends Error {
  override readonly name = 'GitError';
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(redact(`git ${args.join(' ')} failed (exit ${exitCode ?? 'none'}): ${tail(stderr.trim(), 2000)}`));
  }
}

export interface GitOptions {
  cwd: string;
  env?: Record<string, string>;
  input?: string;
  /** stdout beyond this fails the command (OutputTooLargeError) instead of being read whole. */
  maxDataBytes?: number;
  /** Aborting kills git and its children (a push's receive side and hooks included). */
  signal?: AbortSignal;
}

// Deterministic, non-interactive git: no prompts for credentials, no user config leaking in.
const BASE_ENV: Record<string, string> = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_CONFIG_NOSYSTEM: '1',
  LC_ALL: 'C',
};

/**
 * Runs git with an argv array; returns stdout, throws GitError with redacted stderr on failure.
 * stdout is data (file contents, logs, hashes): it comes back whole, never cut.
 */
export async function git(args: readonly string[], options: GitOptions): Promise<string> {
  const result = await runCommand(['git', ...args], {
    cwd: options.cwd,
    env: { ...BASE_ENV, ...options.env },
    // git's credential helper and ssh read the worker's own environment (PROMOTE_GIT_TOKEN, ssh-agent).
    baseEnv: 'worker',
    input: options.input,
    stdoutIsData: true,
    ...(options.maxDataBytes !== undefined ? { maxDataBytes: options.maxDataBytes } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (result.cancelled) throw new CancelledFailure(`git ${args[0] ?? ''} cancelled`);
  if (result.exitCode !== 0) {
    throw new GitError(args, result.exitCode, result.failedToStart ?? result.stderr);
  }
  return result.stdout;
}

/** The running activity's cancellation (its workflow cancelled or terminated, its heartbeat lost), if any. */
export function activityCancellation(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // Not inside an activity (tests, the CLI): nothing can cancel it.
  }
}

/**
 * A push from an activity: never started once the activity is cancelled, and killed with its whole
 * process group when cancelled mid-way. A terminated holder's push thus cannot land after its
 * heartbeat timeout, when the environment's lock may already have moved on.
 */
export async function gitPush(args: readonly string[], options: GitOptions): Promise<string> {
  const signal = activityCancellation();
  if (signal?.aborted) throw new CancelledFailure('cancelled before pushing');
  return git(args, { ...options, ...(signal ? { signal } : {}) });
}

/** The branch moved under every push attempt: bounded, so a busy branch fails clearly instead of spinning. */
export class PushConflictError extends Error {
  override readonly name = 'PushConflictError';
  constructor(repo: string, branch: string, attempts: number) {
    super(
      redact(
        `${repo}: branch ${branch} moved before each of ${attempts} push attempts (others keep pushing); the edit was re-applied each time and is retried later`,
      ),
    );
  }
}

/** Waits a random, growing while before retrying a lost push race, so racing pushers spread out. */
export function pushBackoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(2_000, 50 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function isNonFastForward(error: unknown): boolean {
  return (
    // A push that loses the race on the remote's ref lock is the same race as a non-fast-forward.
    error instanceof GitError &&
    /non-fast-forward|fetch first|\[rejected\]|stale info|cannot lock ref|failed to update ref/.test(
      error.stderr,
    )
  );
}

/**
 * Why a remote operation failed. Authentication and a missing repository are the caller's to fix, so
 * retrying cannot help; anything else (network, 5xx, a lock file left by a killed git) may pass.
 */
export type RemoteFailure = 'auth' | 'not-found' | 'transient';

const AUTH_FAILURE =
  /Authentication failed|Permission denied|could not read (Username|Password)|returned error: 40[13]|Host key verification failed|invalid credentials|access denied/i;
const NOT_FOUND =
  /Repository not found|does not appear to be a git repository|returned error: 404|couldn't find remote ref|not found: did you run git update-server-info|No such file or directory/i;

export function remoteFailure(error: unknown): RemoteFailure {
  if (!(error instanceof GitError)) return 'transient';
  if (AUTH_FAILURE.test(error.stderr)) return 'auth';
  if (NOT_FOUND.test(error.stderr)) return 'not-found';
  return 'transient';
}
