import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  activeFreezes,
  blockAmong,
  EMPTY_RULES,
  GOVERNANCE_WORKFLOW_ID,
  type Block,
  type GovernanceRules,
} from '../common/governance.js';
import type { ConfigFreeze, Window, WindowWait } from '../common/windows.js';
import { closure, configFreezes, openingText } from './windows.js';
import { rulesQuery } from '../common/governance-definitions.js';

/**
 * A promotion's view of the governance workflow (issue 22): read before each environment and right
 * before each apply, so a block signal it missed (visibility lags, a promotion started meanwhile)
 * still stops it. No governance workflow running means no rules.
 */
export async function readGovernanceRules(client: Client): Promise<GovernanceRules> {
  const handle = client.workflow.getHandle(GOVERNANCE_WORKFLOW_ID);
  try {
    // A closed one (terminated by hand) holds no rules any more: the next block or freeze starts anew.
    if ((await handle.describe()).status.name !== 'RUNNING') return EMPTY_RULES;
    return await handle.query(rulesQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return EMPTY_RULES;
    throw error;
  }
}

export interface GateInput {
  env: string;
  apps: { app: string; tag: string }[];
  /** The environment's windows, else the global ones (none: always open). */
  windows?: Window[];
  /** The global and the environment's freezes from promote.yaml. */
  freezes?: ConfigFreeze[];
  /** The workflow's own time: the rules are judged as of it (a time-skipping server skips it ahead). */
  nowMs?: number;
}

export interface Gate {
  block?: Block;
  /** Closed now: when it opens, and the words for status, Slack and the Web UI. */
  wait?: WindowWait;
}

/** Whether an environment may go ahead now: blocks, then windows and freezes (promote.yaml and ad hoc). */
export function gate(rules: GovernanceRules, input: GateInput, nowMs: number): Gate {
  const block = blockAmong(rules, input.apps);
  if (block) return { block };
  const adHoc = activeFreezes(rules, nowMs)
    .filter((f) => f.env === input.env || f.env === '*')
    .map((f) => ({ from: Date.parse(f.at), to: Date.parse(f.until), reason: f.reason }));
  const closed = closure(input.windows ?? [], [...configFreezes(input.freezes ?? []), ...adHoc], nowMs);
  if (!closed) return {};
  const when = openingText(closed.opensAt, closed.timeZone, nowMs);
  return {
    wait: {
      until: new Date(closed.opensAt).toISOString(),
      details: `${input.env} closed until ${when} — ${closed.reason}`,
    },
  };
}

export function createGovernanceActivities(deps: { client: Client }) {
  return {
    async governanceRules(): Promise<GovernanceRules> {
      return readGovernanceRules(deps.client);
    },
    /** Blocks, windows and freezes for one environment, now (the time-zone math needs Intl: here). */
    async governanceGate(input: GateInput): Promise<Gate> {
      return gate(await readGovernanceRules(deps.client), input, input.nowMs ?? Date.now());
    },
  };
}
