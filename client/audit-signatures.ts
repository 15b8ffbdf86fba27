import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { verifyWithSigners } from '../activities/approval-signature.js';
import { git } from '../activities/git.js';
import { DEFAULT_ALLOWED_SIGNERS, parseStatement } from '../common/approval-statement.js';
import { CONFIG_FILE } from '../common/constants.js';
import { parseGitHubSpec } from '../common/repo-spec.js';
import type { Decision, PromotionState } from '../common/types.js';
import type { AuditVerification, DecisionVerifier } from './audit.js';

/**
 * `promote audit`: signed decisions re-verified offline, with `ssh-keygen -Y verify`, against the
 * allowed_signers file as of the deployment branch commit the proposal was built on (read from the
 * repository with git, at that commit), or against a file the auditor gives (`--allowed-signers`).
 * Nothing the workflow recorded about the verification is trusted: the statement must name this
 * promotion, environment, commit and decision, and its signature must verify now.
 */
export function sshSignatureVerifier(options: { allowedSigners?: string } = {}): {
  verify: DecisionVerifier;
  close: () => Promise<void>;
} {
  let checkout: Promise<string> | undefined;
  /** A bare copy of the deployment repository's branches, fetched once per audit. */
  const repository = (url: string) =>
    (checkout ??= (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'promote-audit-'));
      await git(['init', '--quiet', '--bare', dir], { cwd: tmpdir() });
      await git(['fetch', '--quiet', '--no-tags', url, '+refs/heads/*:refs/audit/*'], { cwd: dir });
      return dir;
    })());

  async function signersAt(state: PromotionState, base: string): Promise<{ text: string; file: string }> {
    if (options.allowedSigners)
      return { text: await readFile(options.allowedSigners, 'utf8'), file: options.allowedSigners };
    if (parseGitHubSpec(state.repo))
      throw new Error(`${state.repo} is read through the GitHub API: pass --allowed-signers FILE`);
    const dir = await repository(state.repo);
    // The path promote.yaml named when the promotion ran (its configCommit), else the default.
    const config = state.configCommit
      ? await git(['show', `${state.configCommit}:${CONFIG_FILE}`], { cwd: dir }).catch(() => '')
      : '';
    const named = (parse(config) as { allowedSigners?: unknown } | null)?.allowedSigners;
    const file = typeof named === 'string' ? named : DEFAULT_ALLOWED_SIGNERS;
    const text = await git(['show', `${base}:${file}`], { cwd: dir }).catch(() => {
      throw new Error(`${file} does not exist at ${base.slice(0, 12)}`);
    });
    return { text, file };
  }

  async function verify(
    decision: Decision,
    context: { state: PromotionState; env: string },
  ): Promise<AuditVerification> {
    const failed = (detail: string): AuditVerification => ({ result: 'failed', detail });
    if (!decision.signature) return failed('no signed statement was recorded');
    const statement = parseStatement(decision.signature.statement);
    if (typeof statement === 'string') return failed(`the statement is not canonical: ${statement}`);
    const expected = decision.approved ? 'approve' : 'reject';
    const mismatch =
      statement.promotion !== context.state.id
        ? `it names promotion ${statement.promotion}`
        : statement.env !== context.env
          ? `it names environment ${statement.env}`
          : decision.commit && statement.commit !== decision.commit
            ? `it names commit ${statement.commit.slice(0, 12)}, the decision ${decision.commit.slice(0, 12)}`
            : statement.decision !== expected
              ? `it says ${statement.decision}, the decision ${expected}`
              : undefined;
    if (mismatch) return failed(`the statement does not match the decision: ${mismatch}`);
    const env = context.state.environments.find((e) => e.name === context.env);
    const base = decision.base ?? env?.proposal?.base ?? context.state.configCommit;
    if (!base) return failed('no deployment branch commit is recorded to read allowed_signers at');
    try {
      const signers = await signersAt(context.state, base);
      const { principal } = await verifyWithSigners(signers.text, decision.signature, {
        file: signers.file,
        at: base,
      });
      const recorded = decision.principal ?? decision.by;
      if (principal !== recorded)
        return failed(`signed by ${principal}, but the decision records ${recorded}`);
      return {
        result: 'verified',
        detail: `ssh signature of ${principal} verifies against ${signers.file}${options.allowedSigners ? '' : ` at ${base.slice(0, 12)}`}`,
      };
    } catch (error) {
      return failed(error instanceof Error ? error.message : String(error));
    }
  }

  return {
    verify,
    close: async () => {
      const dir = await checkout?.catch(() => undefined);
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
