import { log, patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { AbandonedBump } from '../common/types.js';
import type { LockHolder, LockInput } from '../common/definitions.js';
import type { LockLedger } from './lock-state.js';
import { TIMEOUTS } from './timeouts.js';

/**
 * A holder that dies without releasing must never deadlock the environment: its liveness is checked
 * while someone waits behind it, and a holder found gone has its bump reverted (unless it may be live)
 * before anyone else gets the environment, and again before each grant while a late push could land.
 */

const { promotionIsRunning } = proxyActivities<Activities>(TIMEOUTS.lookup);
// The lock's clean-up must finish before anyone else deploys: retried without limit.
const { revertAbandonedBump } = proxyActivities<Activities>(TIMEOUTS.gitUntilDone);

const DEFAULT_DRAIN_MS = 45_000;
/** The git step's heartbeat timeout (TIMEOUTS.gitStep) plus a margin for the killed push to end. */
const DEFAULT_PUSH_DRAIN_MS = 35_000;
/** The git step's start-to-close timeout plus a margin: no push of a gone holder can land later. */
const ABANDONED_WATCH_MS = 6 * 60_000;

/**
 * The holder's liveness matters only while someone waits behind it: checked then, every lease. A
 * holder found gone has its bump reverted before anyone else gets the environment.
 */
export async function releaseIfGone(lock: LockLedger, input: LockInput, current: LockHolder): Promise<void> {
  const running = current.run
    ? await promotionIsRunning(current.holder, current.run)
    : await promotionIsRunning(current.holder);
  if (running) return;
  // A release that raced the check has already run its handler by now: then nothing is abandoned.
  if (lock.holder?.holder !== current.holder || lock.holder.run !== current.run) return;
  const lost = lock.holder;
  if (lost.applied && patched('lock-keeps-applied-bump')) await keepAppliedBump(input, lost);
  else await revertGoneHolder(lock, input, lost);
  if (lock.holder === lost) lock.holder = undefined;
}

/**
 * Its bump may be live: reverting Git would make it lie about the cluster. The next deployment of the
 * environment reconciles; first let a deploy command still dying on a worker end.
 */
async function keepAppliedBump(input: LockInput, lost: LockHolder): Promise<void> {
  log.warn('holder is gone after it started applying; its bump stays, recorded as deployed', {
    holder: lost.holder,
    env: input.env,
  });
  if (lost.applying) await sleep(input.drainMs ?? DEFAULT_DRAIN_MS);
}

/** Reverts a gone holder's bump, once its push can no longer be running (`lock-drains-pushes`). */
async function revertGoneHolder(lock: LockLedger, input: LockInput, lost: LockHolder): Promise<void> {
  log.warn('holder is gone; reverting its bump and releasing the environment', {
    holder: lost.holder,
    env: input.env,
  });
  if (!lost.branch || !lost.valuesFile) return;
  const bump: AbandonedBump = {
    repo: input.repo,
    branch: lost.branch,
    env: input.env,
    valuesFile: lost.valuesFile,
    promotionId: lost.holder,
    ...(lost.run ? { run: lost.run } : {}),
  };
  if (patched('lock-drains-pushes')) {
    // Its git step may still be pushing on a worker: that push is cancelled through the step's
    // heartbeat (timeout 30 s) and killed; only then is the branch as the holder left it.
    await sleep(input.pushDrainMs ?? DEFAULT_PUSH_DRAIN_MS);
    // A push that lands later still (a worker cut off from Temporal) is looked for again before
    // each grant for as long as the step could run.
    lock.abandoned.push({ ...bump, until: Date.now() + ABANDONED_WATCH_MS });
  }
  await revertAbandonedBump(bump);
}

/** Before handing the environment on: a gone holder's push that landed late is reverted too. */
export async function revertLatePushes(lock: LockLedger): Promise<void> {
  if (lock.holder || lock.queue.length === 0 || lock.abandoned.length === 0) return;
  for (const { until, ...bump } of lock.abandoned.splice(0)) {
    await revertAbandonedBump(bump);
    if (until > Date.now()) lock.abandoned.push({ ...bump, until });
  }
}
