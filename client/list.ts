import type { Client } from '@temporalio/client';
import { PromoteApps, PromoteEnv, PromoteState } from '../common/search-attributes.js';
import { BadInputError } from './promotions.js';
import { printableDeep } from './printable.js';

export interface ListOptions {
  app?: string;
  env?: string;
  state?: string;
  limit?: number;
}

export interface PromotionRow {
  id: string;
  state: string;
  env?: string;
  apps: string[];
  startedAt: string;
  closedAt?: string;
}

const SAFE_VALUE = /^[A-Za-z0-9][A-Za-z0-9._=-]*$/;

function clause(key: string, value: string | undefined): string[] {
  if (value === undefined) return [];
  // Values are interpolated into a visibility query: only plain names may pass.
  if (!SAFE_VALUE.test(value)) throw new BadInputError(`invalid filter value ${JSON.stringify(value)}`);
  return [`${key} = '${value}'`];
}

/** States a promotion reports only while its workflow runs. */
const LIVE_STATES = new Set(['running', 'waiting-approval', 'waiting-window', 'soaking']);

/** The visibility query behind `promote list`. */
export function listQuery(options: ListOptions): string {
  return [
    "WorkflowType = 'promote'",
    ...clause(PromoteApps.name, options.app),
    ...clause(PromoteEnv.name, options.env),
    ...clause(PromoteState.name, options.state),
    // A terminated or timed-out run keeps its last PromoteState: it is not running any more.
    ...(options.state && LIVE_STATES.has(options.state) ? ["ExecutionStatus = 'Running'"] : []),
  ].join(' AND ');
}

/** What a row says: the promotion's own state, unless its workflow was ended from outside. */
function rowState(promoteState: string | undefined, executionStatus: string): string {
  const status = executionStatus.toLowerCase();
  if (!promoteState) return status;
  return LIVE_STATES.has(promoteState) && status !== 'running' ? status : promoteState;
}

export async function listPromotions(client: Client, options: ListOptions): Promise<PromotionRow[]> {
  const rows: PromotionRow[] = [];
  const limit = options.limit ?? 50;
  for await (const execution of client.workflow.list({ query: listQuery(options) })) {
    const attributes = execution.typedSearchAttributes;
    const apps = attributes.get(PromoteApps) ?? [];
    rows.push({
      id: execution.workflowId,
      state: rowState(attributes.get(PromoteState), execution.status.name),
      ...(attributes.get(PromoteEnv) ? { env: attributes.get(PromoteEnv) } : {}),
      apps: apps.filter((a) => a.includes('=')),
      startedAt: execution.startTime.toISOString(),
      ...(execution.closeTime ? { closedAt: execution.closeTime.toISOString() } : {}),
    });
    if (rows.length >= limit) break;
  }
  return rows;
}

export function renderList(rows: PromotionRow[]): string {
  if (rows.length === 0) return 'no promotions match';
  return printableDeep(rows)
    .map((r) => `${r.id.padEnd(48)} ${r.state.padEnd(17)} ${(r.env ?? '').padEnd(10)} ${r.apps.join(' ')}`)
    .join('\n');
}

/** The app names promotions were started for (most recent first): what `--app` may name. */
export async function knownApps(client: Client, scan = 200): Promise<string[]> {
  const apps = new Set<string>();
  let seen = 0;
  for await (const execution of client.workflow.list({ query: "WorkflowType = 'promote'" })) {
    for (const app of execution.typedSearchAttributes.get(PromoteApps) ?? []) {
      if (!app.includes('=')) apps.add(app);
    }
    if (++seen >= scan) break;
  }
  return [...apps].sort();
}

/** An empty list with an app filter most often means a typo: name the apps that do exist. */
export async function noMatch(client: Client, options: ListOptions): Promise<string> {
  if (!options.app) return 'no promotions match';
  const apps = await knownApps(client);
  if (apps.includes(options.app)) return 'no promotions match';
  return apps.length === 0
    ? `no promotions of app "${options.app}": no promotion has been started yet`
    : `no promotions of app "${options.app}"; known apps: ${apps.join(', ')}`;
}
