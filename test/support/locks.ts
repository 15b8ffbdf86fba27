import type { Client } from '@temporalio/client';
import { lockStateQuery, type LockState } from '../../common/definitions.js';
import { environmentLockId, repositoryKey } from '../../common/ids.js';
import { eventually } from './wait.js';

/** The workflow id of the lock of `env` in a test repository. */
export function lockIdOf(repo: { readonly url: string }, env: string): string {
  return environmentLockId(repositoryKey(repo.url), env);
}

/**
 * Terminates a lock workflow (as an operator or a lost server might) and waits until a new run of it is
 * running in a state `rebuilt` accepts; returns that run's id and state.
 */
export async function terminateLockUntilRebuilt(
  client: Client,
  lockId: string,
  reason: string,
  what: string,
  rebuilt: (state: LockState) => boolean,
): Promise<{ runId: string; state: LockState }> {
  const lost = await client.workflow.getHandle(lockId).describe();
  await client.workflow.getHandle(lockId).terminate(reason);
  return eventually(what, async () => {
    const current = await client.workflow.getHandle(lockId).describe();
    if (current.runId === lost.runId || current.status.name !== 'RUNNING') return undefined;
    const state = await client.workflow.getHandle(lockId, current.runId).query(lockStateQuery);
    return rebuilt(state) ? { runId: current.runId, state } : undefined;
  });
}

/** {@link terminateLockUntilRebuilt} where only the holder, re-asserting, can bring the lock back. */
export async function terminateLockUntilHolderRebuildsIt(
  client: Client,
  lockId: string,
  reason: string,
): Promise<{ runId: string; state: LockState }> {
  return terminateLockUntilRebuilt(
    client,
    lockId,
    reason,
    'the holder to rebuild the lock',
    (s) => !!s.holder,
  );
}
