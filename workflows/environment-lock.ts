import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  lockGrantedSignal,
  lockReleaseSignal,
  lockRequestSignal,
  lockStateQuery,
  supersededSignal,
  type LockInput,
  type LockRequest,
  type LockState,
} from './definitions.js';
import { TIMEOUTS } from './timeouts.js';

const { promotionIsRunning } = proxyActivities<Activities>(TIMEOUTS.lookup);
const { revertAbandonedBump } = proxyActivities<Activities>(TIMEOUTS.git);

const MAX_HISTORY_EVENTS = 2_000;

interface Message {
  to: string;
  superseded?: { by: string };
}

/**
 * Owns one environment: grants it to one promotion at a time, in request order. A newer request whose
 * apps cover an older waiter's (or the holder's, while it has not started applying) takes its place and
 * the older one is told it was superseded. A holder that dies without releasing is detected by a
 * periodic liveness check, so it can never deadlock the environment.
 */
export async function environmentLock(input: LockInput): Promise<void> {
  let holder: LockState['holder'] = input.carried?.holder;
  const queue: LockRequest[] = [...(input.carried?.queue ?? [])];
  const outbox: Message[] = [];

  const describe = () =>
    setCurrentDetails(
      holder
        ? `${input.env}: held by ${holder.holder}${queue.length ? `; queued: ${queue.map((q) => q.holder).join(', ')}` : ''}`
        : `${input.env}: free`,
    );

  setHandler(lockStateQuery, () => ({ ...(holder ? { holder } : {}), queue }));
  setHandler(lockRequestSignal, (request) => {
    if (holder?.holder === request.holder || queue.some((q) => q.holder === request.holder)) return;
    const coveredBy = (older: LockRequest) => older.apps.every((app) => request.apps.includes(app));
    const index = queue.findIndex(coveredBy);
    if (index >= 0) {
      const [older] = queue.splice(index, 1, request);
      if (older) outbox.push({ to: older.holder, superseded: { by: request.holder } });
    } else if (holder && coveredBy(holder)) {
      // The holder gives way only if it has not started applying; either way the newer one is next.
      queue.unshift(request);
      outbox.push({ to: holder.holder, superseded: { by: request.holder } });
    } else {
      queue.push(request);
    }
    describe();
  });
  setHandler(lockReleaseSignal, ({ holder: id }) => {
    if (holder?.holder === id) holder = undefined;
    const index = queue.findIndex((q) => q.holder === id);
    if (index >= 0) queue.splice(index, 1);
    describe();
  });

  /** Signals a promotion; false when it no longer runs (terminated, timed out, finished). */
  async function tell(
    to: string,
    send: (handle: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>,
  ) {
    try {
      await send(getExternalWorkflowHandle(to));
      return true;
    } catch (error) {
      log.warn('promotion did not take the signal; dropping it', { to, error: String(error) });
      return false;
    }
  }

  /**
   * The holder's liveness matters only while someone waits behind it: checked then, every lease. A
   * holder found gone has its bump reverted before anyone else gets the environment.
   */
  async function releaseIfGone(current: NonNullable<LockState['holder']>): Promise<void> {
    if (await promotionIsRunning(current.holder)) return;
    // A release that raced the check has already run its handler by now: then nothing is abandoned.
    if (holder !== current) return;
    log.warn('holder is gone; reverting its bump and releasing the environment', {
      holder: current.holder,
      env: input.env,
    });
    if (current.branch && current.valuesFile) {
      await revertAbandonedBump({
        repo: input.repo,
        branch: current.branch,
        env: input.env,
        valuesFile: current.valuesFile,
        promotionId: current.holder,
      });
    }
    holder = undefined;
  }

  describe();
  for (;;) {
    const held = holder;
    if (held && queue.length === 0) {
      // Nobody waits: no timers, so a holder waiting days for approval costs nothing.
      await condition(() => outbox.length > 0 || holder !== held || queue.length > 0);
      if (holder === held && queue.length > 0) await releaseIfGone(held);
    } else if (held) {
      const changed = await condition(() => outbox.length > 0 || holder !== held, input.leaseMs);
      if (!changed && holder === held) await releaseIfGone(held);
    } else {
      const woken = await condition(() => outbox.length > 0 || queue.length > 0, input.idleMs);
      if (!woken && outbox.length === 0) return;
    }
    while (outbox.length > 0) {
      const message = outbox.shift();
      if (message?.superseded) {
        const by = message.superseded.by;
        await tell(message.to, (h) => h.signal(supersededSignal, { env: input.env, by }));
      }
    }
    while (!holder && queue.length > 0) {
      const next = queue.shift();
      if (next && (await tell(next.holder, (h) => h.signal(lockGrantedSignal, { env: input.env })))) {
        holder = { ...next, since: new Date().toISOString() };
      }
    }
    describe();
    if (workflowInfo().historyLength > MAX_HISTORY_EVENTS || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof environmentLock>({
        ...input,
        carried: { ...(holder ? { holder } : {}), queue },
      });
    }
  }
}
