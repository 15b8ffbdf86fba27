import { log } from '@temporalio/activity';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { repositoryKey } from '../common/ids.js';
import { memoRepository } from '../common/promotion-memo.js';

/**
 * A server without visibility (Temporal's time-skipping test server) cannot list workflows: there is
 * then nobody to discover, rather than an error to retry forever.
 */
export async function* withoutVisibilityTolerated<T>(items: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* items;
  } catch (error) {
    const code =
      (error as { code?: number; cause?: { code?: number } }).code ??
      (error as { cause?: { code?: number } }).cause?.code;
    if (code === GRPC_UNIMPLEMENTED || /UNIMPLEMENTED|not implemented/i.test(String(error))) {
      log.warn('visibility is not available on this server; a lost lock cannot be rebuilt from its holders');
      return;
    }
    throw error;
  }
}

const GRPC_UNIMPLEMENTED = 12;

/**
 * The repository a promotion was started for, from the first event of its history (its request): the
 * server answers this without the promotion's worker, when a query cannot be answered (worker down) or
 * the promotion has closed. Without `runId`, the workflow id's latest run.
 */
export async function startedRepository(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<string | undefined> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, ...(runId ? { runId } : {}) },
    maximumPageSize: 1,
  });
  const payload = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) return undefined;
  const request = client.options.loadedDataConverter.payloadConverter.fromPayload<{ repo?: unknown }>(
    payload,
  );
  return typeof request?.repo === 'string' ? request.repo : undefined;
}

/**
 * Whether a listed promotion's memo names another repository than the one keyed `key`: it is passed
 * over from the list alone, without a query or a history read. A promotion started before the memo
 * has none and is asked as before (common/promotion-memo.ts).
 */
export function listedForAnotherRepository(
  execution: Pick<WorkflowExecutionInfo, 'memo'>,
  key: string,
): boolean {
  const repo = memoRepository(execution.memo);
  return repo !== undefined && repositoryKey(repo) !== key;
}
