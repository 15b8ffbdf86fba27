import { getExternalWorkflowHandle, log, patched } from '@temporalio/workflow';
import { lockGrantedSignal, supersededSignal } from '../common/definitions.js';
import type { LockLedger } from './lock-state.js';

/**
 * What the lock tells promotions: the notices its handlers queued (supersedes, a reset holder's grant
 * again), and the grant to the next run once the environment is free, in request order.
 */

type Handle = ReturnType<typeof getExternalWorkflowHandle>;

/** Requests made by update are granted in the update's answer (promotions since the same patch ask so). */
export const GRANTED_IN_REQUEST_PATCH = 'lock-granted-in-request';

/** Signals a promotion; false when it no longer runs (terminated, timed out, finished). */
async function tell(lock: LockLedger, to: string, send: (handle: Handle) => Promise<void>, run?: string) {
  try {
    // A saga's current execution is the workflow id's running one: its run id changes with a reset.
    await send(getExternalWorkflowHandle(to, lock.followsSaga ? undefined : run));
    return true;
  } catch (error) {
    log.warn('promotion did not take the signal; dropping it', { to, error: String(error) });
    return false;
  }
}

/** The saga a notice names, for runs since `lock-follows-saga`. */
const sagaField = (lock: LockLedger, run: string | undefined) => (lock.followsSaga && run ? { run } : {});

/** Sends every queued notice, including those queued while it sends. */
export async function deliverOutbox(lock: LockLedger): Promise<void> {
  const { env } = lock;
  while (lock.outbox.length > 0) {
    const message = lock.outbox.shift();
    const saga = sagaField(lock, message?.run);
    if (message?.superseded) {
      const by = message.superseded.by;
      await tell(lock, message.to, (h) => h.signal(supersededSignal, { env, by, ...saga }), message.run);
    }
    if (message?.granted) {
      await tell(lock, message.to, (h) => h.signal(lockGrantedSignal, { env, ...saga }), message.run);
    }
  }
}

/**
 * A free environment goes to a run that claims to hold it first (it may be mid-deploy), then to the
 * oldest waiter still running. A waiter whose request (an update) still waits for its answer is
 * running and learns the grant from that answer: no signal, no extra workflow task for it.
 */
export async function grantNext(lock: LockLedger): Promise<void> {
  if (!lock.holder && lock.claims.length > 0) lock.holder = lock.claims.shift();
  while (!lock.holder && lock.queue.length > 0) {
    const next = lock.queue.shift();
    const saga = sagaField(lock, next?.run);
    if (next && lock.answersGrant(next) && patched(GRANTED_IN_REQUEST_PATCH)) {
      lock.holder = { ...next, since: new Date().toISOString() };
    } else if (
      next &&
      (await tell(
        lock,
        next.holder,
        (h) => h.signal(lockGrantedSignal, { env: lock.env, ...saga }),
        next.run,
      ))
    ) {
      lock.holder = { ...next, since: new Date().toISOString() };
    }
  }
}
