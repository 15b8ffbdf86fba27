import type { Client } from '@temporalio/client';
import { getStatus } from '../activities/promotion-status.js';
import type { PromotionState } from '../common/types.js';
import { computeReport, type DeliveryReport } from './report.js';

/*
 * Fetching for `promote report`: the runs come from Temporal visibility (started since the window's
 * start), each one's state from getStatus. A closed run's state is its workflow result, read without a
 * worker; a running one is queried, which needs a worker: when none answers, the run is counted as
 * `unreadable` rather than failing the whole report.
 */

/** Visibility's StartTime wants RFC 3339; the value is ours (a Date), never user text. */
export function reportQuery(since: Date): string {
  return `WorkflowType = 'promote' AND StartTime >= '${since.toISOString()}'`;
}

/** A running run with no worker would block the query for the RPC timeout: bound it. */
const QUERY_TIMEOUT_MS = 5_000;

async function readState(client: Client, id: string): Promise<PromotionState | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), QUERY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([getStatus(client, id), timeout]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

export async function readReport(
  client: Client,
  options: { since: Date; env?: string; now?: Date },
): Promise<DeliveryReport> {
  const states: PromotionState[] = [];
  let unreadable = 0;
  for await (const execution of client.workflow.list({ query: reportQuery(options.since) })) {
    const state = await readState(client, execution.workflowId);
    // A run that left no state (bad input, terminated before accepting) has nothing to measure.
    if (state && state.environments.length > 0) states.push(state);
    else if (!state) unreadable++;
  }
  return computeReport({
    states,
    since: options.since,
    until: options.now ?? new Date(),
    unreadable,
    ...(options.env ? { env: options.env } : {}),
  });
}
