import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import {
  activeFreezes,
  blockAmong,
  blockText,
  EMPTY_RULES,
  GOVERNANCE_WORKFLOW_ID,
  type BlockInput,
  type GovernanceRules,
} from '../common/governance.js';
import { PromoteApps } from '../common/search-attributes.js';
import type { AppRequest } from '../common/types.js';
import { taskQueue } from '../worker/task-queue.js';
import type { governance } from '../workflows/governance.js';
import {
  blockedSignal,
  blockUpdate,
  freezeUpdate,
  overrideWindowUpdate,
  rulesChangedSignal,
  soakBrokenSignal,
  unfreezeUpdate,
} from '../common/governance-definitions.js';
import type { FreezeInput, UnfreezeInput } from '../common/governance.js';
import type { WindowOverride } from '../common/windows.js';
import { PromoteEnv, PromoteState } from '../common/search-attributes.js';
import { repositoryKey } from '../common/ids.js';
import { statusQuery } from '../common/definitions.js';
import { BadInputError } from '../common/errors.js';
import { printableDeep } from './printable.js';

/** The rules as the governance workflow holds them; none while it does not run. */
export async function readRules(client: Client): Promise<GovernanceRules> {
  const handle = client.workflow.getHandle(GOVERNANCE_WORKFLOW_ID);
  try {
    if ((await handle.describe()).status.name !== 'RUNNING') return EMPTY_RULES;
    return await handle.query<GovernanceRules>('rules');
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return EMPTY_RULES;
    throw error;
  }
}

/**
 * Changes the rules through one of the governance workflow's updates, starting it first when it does
 * not run (update-with-start: one round trip, and two first callers cannot start two). A refusal by
 * its validator is bad input (exit 2): nothing was changed.
 */
export async function changeRules<Input>(
  client: Client,
  update: UpdateDefinition<GovernanceRules, [Input]>,
  input: Input,
  options: { taskQueue?: string } = {},
): Promise<GovernanceRules> {
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof governance>('governance', {
    workflowId: GOVERNANCE_WORKFLOW_ID,
    taskQueue: options.taskQueue ?? taskQueue(),
    args: [{}],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: 'release governance: blocked versions and freezes',
  });
  return refusalIsBadInput(
    client.workflow.executeUpdateWithStart(update, { args: [input], startWorkflowOperation }),
  );
}

/** An update its validator refused is bad input (exit 2), said in the validator's words: nothing changed. */
async function refusalIsBadInput<T>(update: Promise<T>): Promise<T> {
  try {
    return await update;
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      const cause = error.cause;
      throw new BadInputError(cause instanceof Error ? cause.message : error.message);
    }
    throw error;
  }
}

/**
 * Tells each running promotion that visibility finds with `where` (after its type and running status):
 * `tell` returns false for one it passed over; one that ended meanwhile has nothing to be told.
 * Returns the ids of those told.
 */
async function tellRunning(
  client: Client,
  where: string,
  tell: (handle: WorkflowHandle) => Promise<boolean>,
): Promise<string[]> {
  const told: string[] = [];
  const query = `WorkflowType = 'promote' AND ExecutionStatus = 'Running' AND ${where}`;
  for await (const execution of client.workflow.list({ query })) {
    try {
      if (await tell(client.workflow.getHandle(execution.workflowId))) told.push(execution.workflowId);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
  return told;
}

/**
 * `promote block`: records the block, then tells every running promotion carrying the tag (found by
 * its PromoteApps search attribute `app=tag`) to stop at its next step. Visibility lags and a signal
 * may be missed: promotions also read the rules before each environment and each apply.
 */
export async function blockTag(
  client: Client,
  input: BlockInput,
  options: { taskQueue?: string } = {},
): Promise<{ rules: GovernanceRules; signalled: string[] }> {
  const rules = await changeRules(client, blockUpdate, input, options);
  const notice = { app: input.app, tag: input.tag, by: input.by, reason: input.reason };
  const signalled = await tellRunning(
    client,
    `${PromoteApps.name} = '${input.app}=${input.tag}'`,
    async (h) => {
      await h.signal(blockedSignal, notice);
      return true;
    },
  );
  return { rules, signalled };
}

/** `promote start`: a blocked tag is refused before anything starts (exit 2). */
export async function refuseBlocked(client: Client, apps: readonly AppRequest[]): Promise<void> {
  if (apps.length === 0) return;
  const block = blockAmong(await readRules(client), apps);
  if (block)
    throw new BadInputError(
      `${blockText(block)} (since ${block.at}); nothing was started. \`promote unblock ${block.app}=${block.tag}\` lifts it`,
    );
}

/** The blocks and freezes in force, for `promote list`, `promote overview` and `promote block --list`. */
export function renderRules(given: GovernanceRules, nowMs = Date.now()): string[] {
  const rules = printableDeep(given);
  const lines: string[] = [];
  if (rules.blocks.length > 0) {
    lines.push('blocked versions:');
    for (const b of rules.blocks) lines.push(`  ${b.app}=${b.tag}  by ${b.by} at ${b.at}: ${b.reason}`);
  }
  const freezes = activeFreezes(rules, nowMs);
  if (freezes.length > 0) {
    lines.push('freezes (promote freeze):');
    for (const f of freezes)
      lines.push(
        `  ${f.env === '*' ? 'every environment' : f.env}  until ${f.until}  by ${f.by}: ${f.reason}`,
      );
  }
  return lines;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--until`: an ISO time (with a date), or a duration from now such as 90m, 4h or 3d. */
export function untilTime(text: string, nowMs = Date.now()): string {
  const duration = /^([1-9][0-9]*)(m|h|d)$/.exec(text.trim());
  if (duration)
    return new Date(nowMs + Number(duration[1]) * (UNIT_MS[duration[2] ?? 'm'] ?? 0)).toISOString();
  const at = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (!Number.isFinite(at))
    throw new BadInputError(
      `--until must be an ISO time such as 2026-12-24T18:00:00+01:00 or a duration such as 4h or 3d, not ${JSON.stringify(text)}`,
    );
  if (at <= nowMs) throw new BadInputError(`--until ${text} is in the past`);
  return new Date(at).toISOString();
}

/** Promotions waiting for a window compute their opening again after a freeze or unfreeze. */
async function tellWaiting(client: Client): Promise<string[]> {
  return tellRunning(client, `${PromoteState.name} = 'waiting-window'`, async (h) => {
    await h.signal(rulesChangedSignal);
    return true;
  });
}

/** `promote freeze`: closes an environment (`*`: every one) until then; waiting promotions recompute. */
export async function freezeEnvironment(
  client: Client,
  input: FreezeInput,
  options: { taskQueue?: string } = {},
): Promise<{ rules: GovernanceRules; told: string[] }> {
  const rules = await changeRules(client, freezeUpdate, input, options);
  return { rules, told: await tellWaiting(client) };
}

/** `promote unfreeze`: ends an ad-hoc freeze now; promotions waiting on it go ahead if nothing else holds them. */
export async function unfreezeEnvironment(
  client: Client,
  input: UnfreezeInput,
  options: { taskQueue?: string } = {},
): Promise<{ rules: GovernanceRules; told: string[] }> {
  const rules = await changeRules(client, unfreezeUpdate, input, options);
  return { rules, told: await tellWaiting(client) };
}

/** `promote approve --override-window`: recorded on the promotion with who and why (refusals: exit 2). */
export async function overrideWindow(
  client: Client,
  id: string,
  input: { env: string; by: string; reason: string },
): Promise<WindowOverride> {
  return refusalIsBadInput(
    client.workflow.getHandle(id).executeUpdate(overrideWindowUpdate, { args: [input] }),
  );
}

/**
 * `promote rollback`: promotions soaking in that environment of the same repository stop (the tag
 * being soaked is being taken back). Visibility finds them by `PromoteState = 'soaking'`.
 */
export async function breakSoaks(
  client: Client,
  repo: string,
  env: string,
  reason: string,
): Promise<string[]> {
  if (!/^[a-z0-9-]+$/.test(env)) return [];
  return tellRunning(
    client,
    `${PromoteState.name} = 'soaking' AND ${PromoteEnv.name} = '${env}'`,
    async (h) => {
      const state = await h.query(statusQuery).catch(() => undefined);
      if (!state || repositoryKey(state.repo) !== repositoryKey(repo)) return false;
      await h.signal(soakBrokenSignal, { env, reason }).catch(() => undefined);
      return true;
    },
  );
}
