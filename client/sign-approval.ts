import type { Client } from '@temporalio/client';
import { runCommand } from '../activities/command.js';
import { redact, tail } from '../activities/redact.js';
import { APPROVAL_NAMESPACE, statementText } from '../common/approval-statement.js';
import type { SignedStatement } from '../common/types.js';
import { BadInputError } from '../common/errors.js';
import { getStatus } from './promotions.js';

/**
 * Signs the canonical statement of a decision (common/approval-statement.ts) with
 * `ssh-keygen -Y sign -n promote`: the promotion, its run, the environment, the proposal commit it
 * shows now (or `commit`), the decision and the time. The workflow verifies it against allowed_signers.
 */
export async function signDecision(
  client: Client,
  id: string,
  input: { env: string; approved: boolean; commit?: string; key: string },
): Promise<{ signed: SignedStatement; commit: string }> {
  const { runId } = await client.workflow.getHandle(id).describe();
  const env = (await getStatus(client, id)).environments.find((e) => e.name === input.env);
  const commit = input.commit ?? env?.commit;
  if (!commit)
    throw new BadInputError(`${input.env} of ${id} shows no commit to sign: see \`promote status ${id}\``);
  const statement = statementText({
    promotion: id,
    run: runId,
    env: input.env,
    commit,
    decision: input.approved ? 'approve' : 'reject',
    time: new Date().toISOString(),
  });
  const result = await runCommand(['ssh-keygen', '-Y', 'sign', '-f', input.key, '-n', APPROVAL_NAMESPACE], {
    cwd: process.cwd(),
    baseEnv: 'worker',
    input: statement,
  });
  if (result.exitCode !== 0 || !result.stdout.includes('BEGIN SSH SIGNATURE'))
    throw new BadInputError(
      `could not sign with ${input.key}: ${redact(tail((result.failedToStart ?? result.stderr).trim(), 1_000))}`,
    );
  return { signed: { statement, signature: result.stdout }, commit };
}
