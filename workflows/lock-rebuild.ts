import { log, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { LockHolder, LockInput } from '../common/definitions.js';
import { sameRun, type LockLedger } from './lock-state.js';
import { TIMEOUTS } from './timeouts.js';

/**
 * A lock starting without carried state (its first start, an idle lock started again, one terminated
 * or reset) may replace one that was terminated while someone held the environment: it learns the
 * holder from the promotions themselves before anyone is granted.
 */

const { findEnvironmentHolder } = proxyActivities<Activities>(TIMEOUTS.lookup);
const { findEnvironmentHolders } = proxyActivities<Activities>(TIMEOUTS.lookupHeartbeating);

const DEFAULT_REASSERT_MS = 5 * 60_000;

/**
 * Rebuilt from the promotions' own explicit holding state: every candidate is read, and while any
 * cannot be (its worker is down, a query times out) nothing is granted; asked again every lease.
 */
export async function rebuildFailingClosed(lock: LockLedger, input: LockInput): Promise<void> {
  const coldUntil = Date.now() + (input.reassertMs ?? DEFAULT_REASSERT_MS) + input.leaseMs;
  /** Every promotion listed in the environment was read and none holds it. */
  let quiet = true;
  for (;;) {
    lock.rebuilding = true;
    const found = await findEnvironmentHolders({ repo: input.repo, env: input.env });
    lock.rebuilding = false;
    lock.unreadable = found.unreadable;
    // Every listed promotion's explicit holding state was read and none holds: nothing to wait for.
    if (found.holders.length > 0 || lock.unreadable.length > 0) quiet = false;
    for (const candidate of found.holders) learnHolder(lock, candidate);
    lock.describe();
    if (lock.unreadable.length === 0) break;
    log.warn('cannot read every candidate holder; granting nothing yet', {
      env: input.env,
      unreadable: lock.unreadable,
    });
    await sleep(input.leaseMs);
  }
  // A holder that no snapshot shows (visibility lags, its state was unreadable) re-asserts within
  // this. When every listed promotion said it holds nothing, the lock grants at once: a lock that idled
  // out is rebuilt cold every time, and a first promotion must not wait (or hit its lockTimeout).
  const left = coldUntil - Date.now();
  if (left > 0 && !(quiet && !lock.holder && lock.claims.length === 0)) await sleep(left);
}

/** A holder a snapshot found: the holder if there is none yet, otherwise a conflicting claim. */
function learnHolder(lock: LockLedger, candidate: LockHolder): void {
  // Released since the snapshot, or already known (it re-asserted meanwhile): nothing to learn.
  if (lock.hasReleased(candidate)) return;
  if ((lock.holder && sameRun(lock.holder, candidate)) || lock.claims.some((c) => sameRun(c, candidate)))
    return;
  const learnt = lock.asTold(candidate);
  if (!lock.holder) lock.holder = learnt;
  else lock.conflict(learnt, 'the rebuilt lock found it holding the environment besides another run');
  lock.unqueue(candidate);
}

/** Runs before `lock-fails-closed`: the one holder a single snapshot shows, if any. */
export async function rebuildFromHolder(lock: LockLedger, input: LockInput): Promise<void> {
  lock.rebuilding = lock.remembersReleased;
  const found = await findEnvironmentHolder({ repo: input.repo, env: input.env });
  lock.rebuilding = false;
  // The snapshot predates signals that arrived while it was taken: a found holder that has released
  // since is gone, one that told us about its apply since is as it told.
  const stale = found !== undefined && lock.hasReleased(found);
  if (found && !lock.holder && !stale) {
    lock.holder = lock.asTold(found);
    lock.unqueue(found);
  }
}
