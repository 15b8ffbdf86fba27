import {
  WithStartWorkflowOperation,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandleWithFirstExecutionRunId,
  type WorkflowStartOptions,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { taskQueue } from '../worker/task-queue.js';
import { BAD_INPUT_FAILURES } from '../common/failures.js';
import { promotionWorkflowId } from '../common/ids.js';
import { PromoteApps } from '../common/search-attributes.js';
import type {
  AbandonInput,
  Decision,
  DecisionInput,
  EnvironmentState,
  PromotionRequest,
  PromotionState,
} from '../common/types.js';
import { TERMINAL_STATUSES } from '../common/types.js';
import { abandonUpdate, acceptedUpdate, decideUpdate, statusQuery } from '../common/definitions.js';
import type { promote } from '../workflows/promote.js';
import { promotionMemo } from '../common/promotion-memo.js';
import { promoteAppsValues, promotionSummary } from './start-shape.js';

// Defined apart so the CLI can tell bad input without loading the Temporal client.
import { BadInputError, NotFoundError } from '../common/errors.js';
// Status reading is shared with the worker (an `--only` check reads past promotions), so it lives below both.
import { getStatus, unknownId } from '../activities/promotion-status.js';
export { BadInputError, NotFoundError, getStatus, promotionSummary };

/**
 * Starts (or, for an identical request, re-attaches to) a promotion. The same request always maps to
 * the same workflow id, so a retried CI job cannot start a duplicate.
 */
export async function startPromotion(
  client: Client,
  request: PromotionRequest,
  options: { taskQueue?: string } = {},
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof promote>> {
  return client.workflow.start<typeof promote>('promote', startOptions(request, options));
}

function startOptions(
  request: PromotionRequest,
  options: { taskQueue?: string },
): WorkflowStartOptions<typeof promote> & { workflowIdConflictPolicy: 'USE_EXISTING' } {
  return {
    taskQueue: options.taskQueue ?? taskQueue(),
    workflowId: promotionWorkflowId(request),
    args: [request],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [
      {
        key: PromoteApps,
        value: promoteAppsValues(request),
      },
    ],
    staticSummary: promotionSummary(request),
    memo: promotionMemo(request.repo),
  };
}

/**
 * `startPromotion` then `waitAccepted`, in one round trip when it can: an update-with-start whose
 * handler answers as soon as the worker has read promote.yaml. When the update cannot answer (bad input
 * ended the run first, a run of older workflow code has no such handler, no worker within the timeout),
 * polling says what happened, exactly as before.
 */
export async function startAccepted(
  client: Client,
  request: PromotionRequest,
  options: { taskQueue?: string; timeoutMs?: number } = {},
): Promise<{ workflowId: string; state: PromotionState }> {
  const workflowId = promotionWorkflowId(request);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof promote>(
    'promote',
    startOptions(request, options),
  );
  try {
    const state = await client.withDeadline(deadline, () =>
      client.workflow.executeUpdateWithStart(acceptedUpdate, { startWorkflowOperation }),
    );
    return { workflowId, state };
  } catch (error) {
    // Not started at all (server unreachable, refused): nothing to poll.
    await startWorkflowOperation.workflowHandle().catch(() => {
      throw error;
    });
    return {
      workflowId,
      state: await waitAccepted(client, workflowId, Math.max(1_000, deadline - Date.now())),
    };
  }
}

function badInputFrom(error: unknown): BadInputError | undefined {
  if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
    if (error.cause.type && BAD_INPUT_FAILURES.includes(error.cause.type))
      return new BadInputError(error.cause.message);
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the worker has read promote.yaml and accepted the request, so `promote start` reports
 * bad input (exit 2) even without --wait.
 */
export async function waitAccepted(client: Client, id: string, timeoutMs = 60_000): Promise<PromotionState> {
  const handle = client.workflow.getHandle<typeof promote>(id);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') {
      try {
        await handle.result();
      } catch (error) {
        const bad = badInputFrom(error);
        if (bad) throw bad;
      }
      return getStatus(client, id);
    }
    const state = await handle.query(statusQuery).catch(() => undefined);
    if (state?.configCommit) return state;
    if (Date.now() > deadline) {
      throw new Error(
        `no worker accepted promotion ${id} within ${Math.round(timeoutMs / 1000)}s: is a worker (\`promote worker\` or \`promote dev\`) running on task queue "${description.taskQueue}"?`,
      );
    }
    await sleep(200);
  }
}

/** Waits for the promotion to end and returns its final state (bad input throws BadInputError). */
export async function waitFinished(client: Client, id: string): Promise<PromotionState> {
  const handle = client.workflow.getHandle<typeof promote>(id);
  try {
    return await handle.result();
  } catch (error) {
    const bad = badInputFrom(error);
    if (bad) throw bad;
    return getStatus(client, id);
  }
}

/** Polls until the given environment waits for approval (or the promotion ends). */
export async function waitForApproval(
  client: Client,
  id: string,
  env: string,
  timeoutMs = 120_000,
): Promise<PromotionState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await getStatus(client, id);
    const current = state.environments.find((e) => e.name === env);
    if (current?.status === 'waiting-approval' || TERMINAL_STATUSES.includes(state.status)) return state;
    if (Date.now() > deadline)
      throw new Error(`${env} of ${id} did not reach approval within ${timeoutMs / 1000}s`);
    await sleep(200);
  }
}

/**
 * Approves or rejects; the workflow's validator refusal comes back as BadInputError with its message
 * verbatim. An approval names the commit it approves (the workflow requires it where the environment
 * proposes): without one, the commit the environment shows right now, as `promote approve` does.
 */
/** An update the workflow refused is bad input (exit 2); an unknown id says so; anything else as is. */
function updateRefusal(error: unknown, id: string): unknown {
  if (error instanceof WorkflowUpdateFailedError) {
    const cause = error.cause;
    return new BadInputError(cause instanceof Error ? cause.message : error.message);
  }
  if (error instanceof WorkflowNotFoundError) return new NotFoundError(unknownId(id, 'running '));
  return error;
}

export async function decide(client: Client, id: string, input: DecisionInput): Promise<Decision> {
  const handle = client.workflow.getHandle<typeof promote>(id);
  let named = input;
  if (input.approved && !input.commit) {
    const state = await getStatus(client, id).catch((error: unknown) => {
      throw error instanceof NotFoundError ? new NotFoundError(unknownId(id, 'running ')) : error;
    });
    const env = state.environments.find((e) => e.name === input.env);
    if (env?.status === 'waiting-approval' && env.commit) named = { ...input, commit: env.commit };
  }
  try {
    return await handle.executeUpdate(decideUpdate, { args: [named] });
  } catch (error) {
    throw updateRefusal(error, id);
  }
}

/**
 * `promote abandon`: gives up an environment's compensation now, recorded with who and why. Answers
 * once the environment is released, with what is left for a person. Refused (bad input) when the
 * environment is not compensating.
 */
export async function abandonCompensation(
  client: Client,
  id: string,
  input: AbandonInput,
): Promise<EnvironmentState> {
  const handle = client.workflow.getHandle<typeof promote>(id);
  try {
    return await handle.executeUpdate(abandonUpdate, { args: [input] });
  } catch (error) {
    throw updateRefusal(error, id);
  }
}

export async function cancelPromotion(client: Client, id: string): Promise<void> {
  try {
    await client.workflow.getHandle(id).cancel();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new NotFoundError(unknownId(id, 'running '));
    throw error;
  }
}
