/**
 * Release governance kept in Temporal (issue 22): blocked versions and ad-hoc freezes live in one
 * long-running workflow, not in Git, so `promote block` takes effect at once for every repository and
 * every running promotion. Shared by the governance workflow, the promotions reading it and the CLI:
 * no Node APIs here.
 */
import { parseAppTag } from './tags.js';

/** The singleton governance workflow of a namespace (started on demand by update-with-start). */
export const GOVERNANCE_WORKFLOW_ID = 'promote-governance';

/** `promote block app=tag`: never promoted again until unblocked. */
export interface Block {
  app: string;
  tag: string;
  by: string;
  reason: string;
  at: string;
}

/** `promote freeze --env prod --until …`: the environment is closed until then (`*`: every environment). */
export interface Freeze {
  env: string;
  until: string;
  by: string;
  reason: string;
  at: string;
}

/** One change of the rules, kept (bounded) as the governance audit trail. */
export interface GovernanceChange {
  action: 'block' | 'unblock' | 'freeze' | 'unfreeze';
  /** `app=tag` or the environment. */
  subject: string;
  by: string;
  reason?: string;
  at: string;
}

export interface GovernanceRules {
  blocks: Block[];
  freezes: Freeze[];
  /** Newest last, at most MAX_CHANGES. */
  changes: GovernanceChange[];
}

export const MAX_CHANGES = 200;

export const EMPTY_RULES: GovernanceRules = { blocks: [], freezes: [], changes: [] };

export interface BlockInput {
  app: string;
  tag: string;
  by: string;
  reason: string;
}

export interface UnblockInput {
  app: string;
  tag: string;
  by: string;
  reason?: string;
}

export interface FreezeInput {
  /** An environment name, or `*` for every environment. */
  env: string;
  /** ISO time the freeze ends. */
  until: string;
  by: string;
  reason: string;
}

export interface UnfreezeInput {
  env: string;
  by: string;
  reason?: string;
}

/** Governance → promotion: a tag it carries was blocked; it stops at its next step. */
export interface BlockedNotice {
  app: string;
  tag: string;
  by: string;
  reason: string;
}

const ENV_NAME = /^([a-z0-9][a-z0-9-]*|\*)$/;

function whoProblem(by: string | undefined): string | undefined {
  return by?.trim() ? undefined : 'a name is needed: who changes the rules (--as or PROMOTE_USER)';
}

function appTagProblem(app: string, tag: string): string | undefined {
  try {
    parseAppTag(`${app}=${tag}`);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export function blockProblem(input: BlockInput, rules: GovernanceRules): string | undefined {
  const problem = appTagProblem(input.app, input.tag) ?? whoProblem(input.by);
  if (problem) return problem;
  if (!input.reason?.trim()) return 'a block needs a reason (--reason)';
  const existing = findBlock(rules, input.app, input.tag);
  if (existing)
    return `${input.app}=${input.tag} is already blocked by ${existing.by} since ${existing.at}: ${existing.reason}`;
  return undefined;
}

export function unblockProblem(input: UnblockInput, rules: GovernanceRules): string | undefined {
  const problem = appTagProblem(input.app, input.tag) ?? whoProblem(input.by);
  if (problem) return problem;
  if (!findBlock(rules, input.app, input.tag)) return `${input.app}=${input.tag} is not blocked`;
  return undefined;
}

export function freezeProblem(input: FreezeInput, nowMs: number): string | undefined {
  if (!ENV_NAME.test(input.env ?? '')) return `invalid environment ${JSON.stringify(input.env)}`;
  const problem = whoProblem(input.by);
  if (problem) return problem;
  if (!input.reason?.trim()) return 'a freeze needs a reason (--reason)';
  const until = Date.parse(input.until);
  if (!Number.isFinite(until)) return `invalid end time ${JSON.stringify(input.until)}`;
  if (until <= nowMs) return `the freeze would end in the past (${input.until})`;
  return undefined;
}

export function unfreezeProblem(
  input: UnfreezeInput,
  rules: GovernanceRules,
  nowMs: number,
): string | undefined {
  if (!ENV_NAME.test(input.env ?? '')) return `invalid environment ${JSON.stringify(input.env)}`;
  const problem = whoProblem(input.by);
  if (problem) return problem;
  if (!activeFreezes(rules, nowMs).some((f) => f.env === input.env))
    return `${input.env === '*' ? 'no global freeze' : `${input.env} is not frozen`} by \`promote freeze\``;
  return undefined;
}

export function findBlock(rules: GovernanceRules, app: string, tag: string): Block | undefined {
  return rules.blocks.find((b) => b.app === app && b.tag === tag);
}

/** The first block among a promotion's apps, if any. */
export function blockAmong(
  rules: GovernanceRules,
  apps: readonly { app: string; tag: string }[],
): Block | undefined {
  for (const { app, tag } of apps) {
    const block = findBlock(rules, app, tag);
    if (block) return block;
  }
  return undefined;
}

/** Freezes not yet over at `nowMs`. */
export function activeFreezes(rules: GovernanceRules, nowMs: number): Freeze[] {
  return rules.freezes.filter((f) => Date.parse(f.until) > nowMs);
}

export function blockText(block: Pick<Block, 'app' | 'tag' | 'by' | 'reason'>): string {
  return `${block.app}=${block.tag} is blocked by ${block.by}: ${block.reason}`;
}

/** Appends a change to the bounded audit trail. */
export function withChange(rules: GovernanceRules, change: GovernanceChange): GovernanceChange[] {
  return [...rules.changes, change].slice(-MAX_CHANGES);
}
