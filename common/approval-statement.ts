/**
 * The canonical text a signed approval signs (`ssh-keygen -Y sign -n promote`). Fixed line order, no
 * trailing spaces, one trailing newline: the CLI builds it, the workflow parses it and the worker's
 * activity verifies the signature over these exact bytes.
 *
 *     promote-approval v1
 *     promotion <id>
 *     run <runId>
 *     env <env>
 *     commit <proposal commit>
 *     decision approve|reject
 *     time <ISO 8601 UTC>
 *
 * Pure and deterministic: used by the CLI, the update validator and the activity.
 */
export const APPROVAL_NAMESPACE = 'promote';
/** Where allowed_signers is read from (the deployment branch) unless promote.yaml names `allowedSigners`. */
export const DEFAULT_ALLOWED_SIGNERS = '.promote/allowed_signers';
export const STATEMENT_HEADER = 'promote-approval v1';
/** How long a signed statement is accepted after it was made (and how far ahead a clock may be). */
export const STATEMENT_MAX_AGE_MS = 15 * 60_000;
export const STATEMENT_MAX_SKEW_MS = 60_000;
export const SIGNED_LIMITS = { statement: 2_000, signature: 8_000 } as const;

export interface ApprovalStatement {
  promotion: string;
  run: string;
  env: string;
  commit: string;
  decision: 'approve' | 'reject';
  time: string;
}

const FIELDS = ['promotion', 'run', 'env', 'commit', 'decision', 'time'] as const;

export function statementText(s: ApprovalStatement): string {
  return [STATEMENT_HEADER, ...FIELDS.map((f) => `${f} ${s[f]}`)].join('\n') + '\n';
}

/** The statement's fields, or why the text is not a canonical statement. */
export function parseStatement(text: string): ApprovalStatement | string {
  const lines = text.split('\n');
  if (lines.pop() !== '') return 'a signed statement ends with one newline';
  if (lines.length !== FIELDS.length + 1 || lines[0] !== STATEMENT_HEADER)
    return `a signed statement starts with "${STATEMENT_HEADER}" and has the lines ${FIELDS.join(', ')}`;
  const values: Record<string, string> = {};
  for (const [i, field] of FIELDS.entries()) {
    const line = lines[i + 1] ?? '';
    const match = /^([a-z]+) ([\x21-\x7e]+)$/.exec(line);
    if (!match || match[1] !== field)
      return `line ${i + 2} of the signed statement must be "${field} <value>"`;
    values[field] = match[2] ?? '';
  }
  if (values.decision !== 'approve' && values.decision !== 'reject')
    return 'the signed decision must be approve or reject';
  if (
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(values.time ?? '') ||
    Number.isNaN(Date.parse(values.time ?? ''))
  )
    return 'the signed time must be an ISO 8601 UTC time';
  return values as unknown as ApprovalStatement;
}

/** Why a statement does not fit the decision it came with (this promotion, run, env, commit, now). */
export function statementMismatch(
  s: ApprovalStatement,
  expected: {
    promotion: string;
    run: string;
    env: string;
    commit: string | undefined;
    approved: boolean;
    nowMs: number;
  },
): string | undefined {
  if (s.promotion !== expected.promotion)
    return `the signed statement is for promotion ${s.promotion}, not ${expected.promotion}`;
  if (s.run !== expected.run)
    return `the signed statement is for run ${s.run}, not this run (${expected.run})`;
  if (s.env !== expected.env) return `the signed statement is for ${s.env}, not ${expected.env}`;
  if (!expected.commit || s.commit !== expected.commit)
    return `the signed statement names commit ${s.commit.slice(0, 12)}, but ${expected.env} proposes ${expected.commit?.slice(0, 12) ?? 'nothing'}`;
  if ((s.decision === 'approve') !== expected.approved)
    return `the signed statement says ${s.decision}, but the decision sent is ${expected.approved ? 'approve' : 'reject'}`;
  const age = expected.nowMs - Date.parse(s.time);
  if (age > STATEMENT_MAX_AGE_MS)
    return `the signed statement expired (made ${s.time}; signed approvals are accepted for ${STATEMENT_MAX_AGE_MS / 60_000} minutes)`;
  if (age < -STATEMENT_MAX_SKEW_MS) return `the signed statement is dated in the future (${s.time})`;
  return undefined;
}
