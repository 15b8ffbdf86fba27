import { repositoryKey } from './ids.js';

/**
 * A promotion's memo names its repository (as the request gives it), so that a scan of running
 * promotions — a lock rebuilding its holder, a proposal superseding older ones, the janitor — reads
 * it from the visibility list itself and passes over another repository's promotion without asking it
 * anything. Before, each scan asked every running promotion of the environment by query, whatever its
 * repository: at 200 promotions at once on 200 repositories, every new lock asked all 200
 * (docs/performance.md). The promotion refuses to run when its memo names another repository than its
 * request (workflows/promote.ts), so a scan can trust it.
 */
export const REPOSITORY_MEMO = 'promoteRepository';

/** The memo a promotion is started with (both start paths: the SDK's and the CLI's light one). */
export function promotionMemo(repo: string): Record<string, string> {
  return { [REPOSITORY_MEMO]: repo };
}

/** The repository a promotion's memo names; undefined when it has none (started before the memo). */
export function memoRepository(memo: Record<string, unknown> | undefined): string | undefined {
  const repo = memo?.[REPOSITORY_MEMO];
  return typeof repo === 'string' ? repo : undefined;
}

/**
 * Why a promotion's memo disagrees with its request, or undefined when it agrees or has no memo: a start
 * made by hand with a memo naming another repository would hide the promotion from that repository's
 * lock rebuild, so such a promotion never starts its work.
 */
export function memoProblem(memo: Record<string, unknown> | undefined, repo: string): string | undefined {
  if (memo?.[REPOSITORY_MEMO] === undefined) return undefined;
  const named = memoRepository(memo);
  if (named !== undefined && repositoryKey(named) === repositoryKey(repo)) return undefined;
  return `the promotion's memo ${REPOSITORY_MEMO} names another repository than its request's repo; start it with \`promote start\``;
}
