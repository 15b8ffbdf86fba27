import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  makeContinueAsNewFunc,
  patched,
  setWorkflowOptions,
  workflowInfo,
} from '@temporalio/workflow';
import type { LockInput } from '../common/definitions.js';
import { deliverOutbox, grantNext } from './lock-grant.js';
import { releaseIfGone, revertLatePushes } from './lock-holder-gone.js';
import { rebuildFailingClosed, rebuildFromHolder } from './lock-rebuild.js';
import { LockLedger } from './lock-state.js';

const MAX_HISTORY_EVENTS = 2_000;

/** Wraps a wait's wake-up condition: guarded runs also wake when the history is long. */
type Wake = (woken: () => boolean) => () => boolean;

/**
 * Owns one environment: grants it to one promotion at a time, in request order. A newer request whose
 * apps cover an older waiter's (or the holder's, while it has not started applying) takes its place and
 * the older one is told it was superseded. A holder that dies without releasing is detected by a
 * periodic liveness check, so it can never deadlock the environment.
 */
export async function environmentLock(input: LockInput): Promise<void> {
  const lock = new LockLedger(input);
  lock.install();
  if (!input.carried && lock.failsClosed) await rebuildFailingClosed(lock, input);
  else if (!input.carried && patched('lock-rebuilt-from-holders')) await rebuildFromHolder(lock, input);
  const wake = wakesWhenLong();
  lock.ready = true;
  lock.describe();
  for (;;) {
    if (!(await waitForWork(lock, input, wake))) return;
    await answerFirst(lock);
    await deliverOutbox(lock);
    await answerFirst(lock);
    await revertLatePushes(lock);
    await answerFirst(lock);
    await grantNext(lock);
    lock.describe();
    await continueAsNewIfDue(lock, input);
  }
}

/**
 * Before the loop's next command, lets a `requestLock` update that can already answer finish: its
 * completion and that command come from the same workflow task, and their order would otherwise follow
 * how many promise hops the handler takes (the tracing interceptors add some: a worker with tracing on
 * could not replay a lock recorded without, `test/tracing.test.ts`). An update still waiting for the
 * loop's decision does not hold the loop up. Without updates in flight (every lock before
 * `lock-granted-in-request`) it awaits nothing, so older histories replay as recorded.
 */
async function answerFirst(lock: LockLedger): Promise<void> {
  if (!allHandlersFinished()) await condition(() => allHandlersFinished() || !lock.decided());
}

const historyLong = () =>
  workflowInfo().historyLength > MAX_HISTORY_EVENTS || workflowInfo().continueAsNewSuggested;

/** A new current worker version (never on an unversioned worker): wakes the loop to move to it. */
const upgradable = () => workflowInfo().targetWorkerDeploymentVersionChanged;

/**
 * Signals alone (re-asserts, repeated requests) grow the history while a wait's condition stays
 * false: guarded runs also wake from every wait to continue as new when the history is long.
 */
function wakesWhenLong(): Wake {
  const wakesToContinue = patched('lock-wait-continues-as-new');
  return (woken) => (wakesToContinue ? () => woken() || historyLong() : woken);
}

/**
 * Waits for something to do: a notice to send, a free environment and a waiter, a holder to check
 * (every lease while someone waits behind it) or a version to move to. False when the lock idled out.
 */
async function waitForWork(lock: LockLedger, input: LockInput, wake: Wake): Promise<boolean> {
  const held = lock.holder;
  const { outbox, queue } = lock;
  if (held && queue.length === 0) {
    // Nobody waits: no timers, so a holder waiting days for approval costs nothing.
    await condition(
      wake(() => outbox.length > 0 || lock.holder !== held || queue.length > 0 || upgradable()),
    );
    await answerFirst(lock);
    if (lock.holder === held && queue.length > 0) await releaseIfGone(lock, input, held);
  } else if (held) {
    const changed = await condition(
      wake(() => outbox.length > 0 || lock.holder !== held || upgradable()),
      input.leaseMs,
    );
    await answerFirst(lock);
    if (!changed && lock.holder === held) await releaseIfGone(lock, input, held);
  } else {
    const woken = await condition(
      wake(() => outbox.length > 0 || queue.length > 0 || upgradable()),
      input.idleMs,
    );
    if (!woken && outbox.length === 0) return false;
  }
  return true;
}

/**
 * A new current Worker Deployment Version: this pinned run moves to it by continuing as new, with its
 * state as input (unversioned workers never see the flag set, so old histories never get here). A long
 * history continues as new on the same version.
 */
async function continueAsNewIfDue(lock: LockLedger, input: LockInput): Promise<void> {
  const upgrade = upgradable() && patched('lock-upgrades-on-continue-as-new');
  if (!upgrade && !historyLong()) return;
  if (!allHandlersFinished()) {
    // A request's update still waits for its answer: answered first, so no grant is lost with the
    // run. One the main loop must decide (a free environment with waiters) is decided first.
    await condition(() => allHandlersFinished() || !lock.decided());
    if (!allHandlersFinished()) return;
  }
  const carried = lock.carried();
  if (upgrade) {
    log.info('a new worker version is current; continuing as new on it', { env: input.env });
    await makeContinueAsNewFunc<typeof environmentLock>({ initialVersioningBehavior: 'AUTO_UPGRADE' })({
      ...input,
      carried,
    });
  }
  await continueAsNew<typeof environmentLock>({ ...input, carried });
}

/**
 * On a versioned worker the lock stays on the version that started it (PINNED): its state machine
 * never meets another version's code mid-run. It moves to a new current version only by continuing as
 * new, carrying its state (above). A promotion signals its lock every PROMOTE_LOCK_REASSERT_MS, so an
 * occupied lock moves within that time; a free one ends after its idle time. Either way the old
 * version drains.
 */
setWorkflowOptions(
  // A behaviour is refused from an unversioned worker: only a worker with a deployment version pins.
  () => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: 'PINNED' } : {}),
  environmentLock,
);
