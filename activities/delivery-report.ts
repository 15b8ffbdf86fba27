import type { Client } from '@temporalio/client';
import { computeReport, type DeliveryReport } from '../common/delivery-report.js';
import { TERMINAL_STATUSES, type PromotionState } from '../common/types.js';
import { getStatus } from './promotion-status.js';

/*
 * Fetching delivery metrics, for `promote report` and the worker's Prometheus gauges alike: the runs
 * come from Temporal visibility (started since the window's start), each one's state from getStatus.
 * A closed run's state is its workflow result, read without a worker; a running one is queried, which
 * needs a worker: when none answers, the run is counted as `unreadable` rather than failing the whole
 * report. Runs are read one after the other, so a report never floods the server.
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

export interface ReadReportOptions {
  since: Date;
  env?: string;
  now?: Date;
  /**
   * Read at most this many runs (the newest first, as visibility lists them); the report then says
   * `truncated`. Unset: all of the window's runs.
   */
  maxRuns?: number;
  /** Stops between runs (the worker shutting down): the reading throws. */
  signal?: AbortSignal;
  /**
   * States of closed runs kept from earlier readings (a closed run's state never changes), keyed by
   * workflow and run id: a refresh then reads only the list and the running runs. Entries of runs no
   * longer in the window are dropped.
   */
  closedStates?: Map<string, PromotionState>;
}

/** A closed run's state from the cache, or read (and kept when the run is closed). */
async function stateOf(
  client: Client,
  execution: { workflowId: string; runId: string; status: { name: string } },
  options: ReadReportOptions,
  seen: Set<string>,
): Promise<PromotionState | undefined> {
  const key = `${execution.workflowId}/${execution.runId}`;
  seen.add(key);
  const cached = options.closedStates?.get(key);
  if (cached) return cached;
  const state = await readState(client, execution.workflowId);
  // Only a closed run's final state is kept (getStatus reads the id's latest run: it must have ended too).
  if (state && execution.status.name !== 'RUNNING' && TERMINAL_STATUSES.includes(state.status))
    options.closedStates?.set(key, state);
  return state;
}

export async function readReport(client: Client, options: ReadReportOptions): Promise<DeliveryReport> {
  const states: PromotionState[] = [];
  const seen = new Set<string>();
  let unreadable = 0;
  let truncated = false;
  for await (const execution of client.workflow.list({ query: reportQuery(options.since) })) {
    if (options.signal?.aborted) throw new Error('reading the delivery report was stopped');
    if (options.maxRuns !== undefined && seen.size >= options.maxRuns) {
      truncated = true;
      break;
    }
    const state = await stateOf(client, execution, options, seen);
    // A run that left no state (bad input, terminated before accepting) has nothing to measure.
    if (state && state.environments.length > 0) states.push(state);
    else if (!state) unreadable++;
  }
  for (const key of options.closedStates?.keys() ?? []) if (!seen.has(key)) options.closedStates?.delete(key);
  const report = computeReport({
    states,
    since: options.since,
    until: options.now ?? new Date(),
    unreadable,
    ...(options.env ? { env: options.env } : {}),
  });
  return truncated ? { ...report, truncated: true } : report;
}
