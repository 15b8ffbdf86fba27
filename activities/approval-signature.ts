import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { APPROVAL_NAMESPACE } from '../common/approval-statement.js';
import { FailureType } from '../common/failures.js';
import { runCommand } from './command.js';
import { redact, tail } from './redact.js';
import type { RepositoryCache } from './repository.js';

export interface VerifySignatureInput {
  repo: string;
  /** The deployment branch, fetched when the worker's mirror lacks `base`. */
  branch: string;
  /** The deployment branch commit the proposal was built on: allowed_signers is read there, never from the proposal. */
  base: string;
  allowedSigners: string;
  statement: string;
  signature: string;
}

/** ssh-keygen refused a signature or could not run: stderr redacted and bounded. */
export class SignatureCommandError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'SignatureCommandError';
  }
}

function refused(message: string): ApplicationFailure {
  return ApplicationFailure.create({
    message,
    type: FailureType.ApprovalSignatureInvalid,
    nonRetryable: true,
  });
}

async function sshKeygen(args: readonly string[], cwd: string, input: string): Promise<string> {
  const result = await runCommand(['ssh-keygen', ...args], { cwd, input, maxOutput: 16 * 1024 });
  if (result.failedToStart)
    throw new SignatureCommandError(`ssh-keygen could not start: ${result.failedToStart}`, '');
  if (result.exitCode !== 0) {
    const stderr = redact(tail(result.stderr.trim(), 1_000));
    throw new SignatureCommandError(`ssh-keygen -Y ${args[1] ?? ''} failed: ${stderr}`, stderr);
  }
  return result.stdout;
}

/**
 * Verifies a signed decision and returns its principal (the approver). The signer is found with
 * `ssh-keygen -Y find-principals` in allowed_signers as of `base`, then the signature is verified for
 * that principal: whoever can reach Temporal cannot add a key, because the file is read from the
 * deployment branch, not from the proposal the decision is about.
 */
export async function verifyApprovalSignature(
  cache: RepositoryCache,
  input: VerifySignatureInput,
): Promise<{ principal: string }> {
  await cache.ensureCommit(input.repo, input.branch, input.base);
  const signers = await cache.readFile(input.repo, input.base, input.allowedSigners);
  if (signers === undefined)
    throw refused(
      `signed approvals need ${input.allowedSigners} on the deployment branch (at ${input.base.slice(0, 12)}); it does not exist there`,
    );
  return verifyWithSigners(signers, input, { file: input.allowedSigners, at: input.base });
}

/**
 * Verifies `signed` against the text of an allowed_signers file and returns the signer's principal:
 * `ssh-keygen -Y find-principals` (exactly one), then `ssh-keygen -Y verify` for that principal in the
 * `promote` namespace with the statement on standard input. Shared by the worker and `promote audit`.
 */
export async function verifyWithSigners(
  signers: string,
  signed: { statement: string; signature: string },
  where: { file: string; at: string },
): Promise<{ principal: string }> {
  const input = { ...signed, allowedSigners: where.file, base: where.at };
  const dir = await mkdtemp(join(tmpdir(), 'promote-verify-'));
  try {
    await writeFile(join(dir, 'allowed_signers'), signers);
    await writeFile(join(dir, 'statement.sig'), input.signature);
    const common = ['-f', 'allowed_signers', '-s', 'statement.sig'];
    let principals: string[];
    try {
      const found = await sshKeygen(['-Y', 'find-principals', ...common], dir, '');
      principals = found
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
    } catch (error) {
      if (error instanceof SignatureCommandError)
        throw refused(
          `the decision is not signed by a key in ${input.allowedSigners} at ${input.base.slice(0, 12)}`,
        );
      throw error;
    }
    const principal = principals[0];
    if (!principal || principals.length > 1)
      throw refused(
        `the signing key maps to ${principals.length} principals in ${input.allowedSigners}; it must map to one approver`,
      );
    try {
      await sshKeygen(
        ['-Y', 'verify', ...common, '-I', principal, '-n', APPROVAL_NAMESPACE],
        dir,
        input.statement,
      );
    } catch (error) {
      if (error instanceof SignatureCommandError)
        throw refused(`the signature does not verify: ${error.stderr}`);
      throw error;
    }
    return { principal };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
