import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { statusQuery } from '../common/definitions.js';
import { NotFoundError, unknownId } from '../common/errors.js';
import type { PromotionState } from '../common/types.js';

/*
 * Reading a promotion's status through the Temporal client: the CLI (`promote status`, watch, Slack)
 * and the worker (an `--only` promotion checks the run that set the required environment's tags) both
 * need it, so it sits in activities/, below worker/ and client/.
 */

export { unknownId };

/** Reads a promotion's state, running or finished; a finished one needs no worker. */
export async function getStatus(client: Client, id: string): Promise<PromotionState> {
  const handle = client.workflow.getHandle(id);
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new NotFoundError(unknownId(id));
    throw error;
  }
  if (description.status.name === 'RUNNING') return handle.query(statusQuery);
  // A closed run that left no state (bad input, terminated): say what Temporal knows.
  const withoutState = (status: PromotionState['status'], error: string): PromotionState => ({
    id,
    kind: 'promotion',
    status,
    repo: '',
    apps: [],
    environments: [],
    error,
    startedAt: description.startTime.toISOString(),
  });
  try {
    return (await handle.result()) as PromotionState;
  } catch (error) {
    if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
      const details = error.cause.details?.[0] as PromotionState | undefined;
      return details?.environments ? details : withoutState('failed', error.cause.message);
    }
    const closed = description.status.name;
    return withoutState(closed === 'CANCELLED' ? 'cancelled' : 'failed', `workflow ${closed.toLowerCase()}`);
  }
}
