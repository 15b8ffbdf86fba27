import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  makeContinueAsNewFunc,
  metricMeter,
  patched,
  proxyActivities,
  sleep,
  setCurrentDetails,
  setHandler,
  setWorkflowOptions,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { AbandonedBump } from '../common/types.js';
import {
  lockApplyingSignal,
  lockGrantedSignal,
  lockReleaseSignal,
  lockRequestSignal,
  lockStateQuery,
  supersededSignal,
  type LockHolder,
  type LockInput,
  type LockRequest,
  type LockState,
  type ReleasedRun,
} from '../common/definitions.js';
import { TIMEOUTS } from './timeouts.js';

const { promotionIsRunning, findEnvironmentHolder } = proxyActivities<Activities>(TIMEOUTS.lookup);
const { findEnvironmentHolders } = proxyActivities<Activities>(TIMEOUTS.lookupHeartbeating);
// The lock's clean-up must finish before anyone else deploys: retried without limit.
const { revertAbandonedBump } = proxyActivities<Activities>(TIMEOUTS.gitUntilDone);

const MAX_HISTORY_EVENTS = 2_000;
const DEFAULT_DRAIN_MS = 45_000;
const DEFAULT_REASSERT_MS = 5 * 60_000;
/** The git step's heartbeat timeout (TIMEOUTS.gitStep) plus a margin for the killed push to end. */
const DEFAULT_PUSH_DRAIN_MS = 35_000;
/** The git step's start-to-close timeout plus a margin: no push of a gone holder can land later. */
const ABANDONED_WATCH_MS = 6 * 60_000;
/** Released runs remembered: far more than can have a request still in flight. */
const MAX_RELEASED = 200;

type Message = NonNullable<LockState['outbox']>[number];

/** The same run asking again; requests from runs that predate run ids match on the workflow id alone. */
function sameRun(a: { holder: string; run?: string }, b: { holder: string; run?: string }): boolean {
  return a.holder === b.holder && (a.run === undefined || b.run === undefined || a.run === b.run);
}

/**
 * Owns one environment: grants it to one promotion at a time, in request order. A newer request whose
 * apps cover an older waiter's (or the holder's, while it has not started applying) takes its place and
 * the older one is told it was superseded. A holder that dies without releasing is detected by a
 * periodic liveness check, so it can never deadlock the environment.
 */
export async function environmentLock(input: LockInput): Promise<void> {
  let holder: LockHolder | undefined = input.carried?.holder;
  const queue: LockRequest[] = [...(input.carried?.queue ?? [])];
  const outbox: Message[] = [...(input.carried?.outbox ?? [])];
  /**
   * A run that released never asks again: a late copy of its request is stale, and so is a holder a
   * rebuild found in a snapshot taken before that release arrived. Only runs with an id are remembered
   * (a run without one would match every later run of its workflow id).
   */
  const remembersReleased = patched('lock-remembers-released-runs');
  /**
   * A promotion's saga survives `temporal workflow reset` (its run id does not): grants and supersede
   * notices go to the workflow id, naming the saga, and a reset run (another `current` execution of a
   * saga) is not a late copy of what its saga sent before.
   */
  const followsSaga = patched('lock-follows-saga');
  const released: ReleasedRun[] = [...(input.carried?.released ?? [])];
  const sameExecution = (a: { current?: string }, b: { current?: string }) =>
    !followsSaga || a.current === undefined || b.current === undefined || a.current === b.current;
  const hasReleased = (who: { holder: string; run?: string; current?: string; landing?: number }) =>
    remembersReleased &&
    who.run !== undefined &&
    released.some(
      (r) =>
        r.holder === who.holder &&
        r.run === who.run &&
        (r.landing ?? 1) === (who.landing ?? 1) &&
        sameExecution(r, who),
    );
  /**
   * Fails closed: a lock starting without carried state grants nothing while it cannot read a candidate
   * holder, nor for a re-assert interval plus a lease (every holder re-asserts within it); a second run
   * saying it holds the environment raises an alert and takes its turn before any queued request.
   */
  const failsClosed = patched('lock-fails-closed');
  const claims: LockHolder[] = [...(input.carried?.claims ?? [])];
  /** Gone holders whose late push is still looked for (see releaseIfGone). */
  const abandoned: (AbandonedBump & { until: number })[] = [...(input.carried?.abandoned ?? [])];
  let unreadable: string[] = [];
  const conflicts = metricMeter.createCounter(
    'promote_lock_conflicts',
    '1',
    'runs claiming an environment another run holds: investigate, the lock serves them one at a time',
  );
  function conflict(claimant: LockHolder, why: string): void {
    claims.push(claimant);
    conflicts.add(1, { env: input.env });
    log.error('ALERT: a second run says it holds the environment; no grants until each claim is done', {
      holder: holder?.holder,
      claims: claimant.holder,
      env: input.env,
      why,
    });
  }
  /** Apply notices that arrive while the lock is being rebuilt, before it knows its holder: the newest per run. */
  let rebuilding = false;
  const unknownApplying = new Map<string, boolean>();
  const runKey = (who: { holder: string; run?: string }) => `${who.holder} ${who.run ?? ''}`;

  const describe = () =>
    setCurrentDetails(
      (claims.length ? `CONFLICT: ${claims.map((c) => c.holder).join(', ')} also claim ${input.env}; ` : '') +
        (unreadable.length ? `cannot read ${unreadable.join(', ')}: granting nothing; ` : '') +
        (holder
          ? `${input.env}: held by ${holder.holder}${queue.length ? `; queued: ${queue.map((q) => q.holder).join(', ')}` : ''}`
          : `${input.env}: free`),
    );

  setHandler(lockStateQuery, () => ({
    ...(holder ? { holder } : {}),
    queue,
    ...(claims.length ? { claims } : {}),
    ...(unreadable.length ? { unreadable } : {}),
  }));
  setHandler(lockRequestSignal, (request) => {
    if (holder && sameRun(holder, request)) {
      // The holder's saga asking without `held`, from another execution: it was reset to before its
      // grant and waits for one. Granted again (its bump, if any, is its own and found by its trailers).
      if (followsSaga && !request.held && !sameExecution(holder, request)) {
        holder = { ...holder, current: request.current };
        outbox.push({ to: holder.holder, run: holder.run, granted: true });
      }
      return;
    }
    if (queue.some((q) => sameRun(q, request))) return;
    if (hasReleased(request)) {
      log.warn('ignored a request from a run that already released the environment', {
        holder: request.holder,
        env: input.env,
      });
      return;
    }
    if (request.held) {
      // A holder this lock does not know re-asserts: the lock was terminated or reset since it granted.
      const { held, ...asked } = request;
      const claimant: LockHolder = {
        ...asked,
        since: new Date().toISOString(),
        ...(held.applied ? { applied: true } : {}),
        ...(held.applying ? { applying: true } : {}),
      };
      if (holder && failsClosed) {
        const known = claims.findIndex((c) => sameRun(c, asked));
        if (known >= 0) claims[known] = { ...claimant, since: claims[known]?.since ?? claimant.since };
        else conflict(claimant, 'it re-asserted while another run holds the environment');
        const index = queue.findIndex((q) => sameRun(q, asked));
        if (index >= 0) queue.splice(index, 1);
        describe();
        return;
      }
      if (holder) {
        log.error('a second run says it holds the environment; keeping the current holder', {
          holder: holder.holder,
          claims: asked.holder,
          env: input.env,
        });
        return;
      }
      if (patched('lock-adopts-reasserting-holder')) {
        holder = {
          ...asked,
          since: new Date().toISOString(),
          ...(held.applied ? { applied: true } : {}),
          ...(held.applying ? { applying: true } : {}),
        };
        describe();
        return;
      }
    }
    const coveredBy = (older: LockRequest) => older.apps.every((app) => request.apps.includes(app));
    const index = queue.findIndex(coveredBy);
    if (index >= 0) {
      const [older] = queue.splice(index, 1, request);
      if (older) outbox.push({ to: older.holder, run: older.run, superseded: { by: request.holder } });
    } else if (holder && coveredBy(holder)) {
      // The holder gives way only if it has not started applying; either way the newer one is next.
      queue.unshift(request);
      outbox.push({ to: holder.holder, run: holder.run, superseded: { by: request.holder } });
    } else {
      queue.push(request);
    }
    describe();
  });
  setHandler(lockReleaseSignal, (release) => {
    if (remembersReleased && release.run !== undefined && !hasReleased(release)) {
      released.push({
        holder: release.holder,
        run: release.run,
        ...(release.current ? { current: release.current } : {}),
        ...(release.landing ? { landing: release.landing } : {}),
      });
      if (released.length > MAX_RELEASED) released.splice(0, released.length - MAX_RELEASED);
    }
    if (holder && sameRun(holder, release)) holder = undefined;
    const claim = claims.findIndex((c) => sameRun(c, release));
    if (claim >= 0) claims.splice(claim, 1);
    const index = queue.findIndex((q) => sameRun(q, release));
    if (index >= 0) queue.splice(index, 1);
    describe();
  });
  setHandler(lockApplyingSignal, ({ applying, ...who }) => {
    if (rebuilding && !holder) unknownApplying.set(runKey(who), applying);
    const claim = claims.findIndex((c) => sameRun(c, who));
    if (claim >= 0) claims[claim] = { ...(claims[claim] as LockHolder), applying, applied: true };
    if (!holder || !sameRun(holder, who)) return;
    holder = { ...holder, applying, applied: true };
  });

  /** Signals a promotion; false when it no longer runs (terminated, timed out, finished). */
  async function tell(
    to: string,
    send: (handle: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>,
    run?: string,
  ) {
    try {
      // A saga's current execution is the workflow id's running one: its run id changes with a reset.
      await send(getExternalWorkflowHandle(to, followsSaga ? undefined : run));
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
  async function releaseIfGone(current: LockHolder): Promise<void> {
    const running = current.run
      ? await promotionIsRunning(current.holder, current.run)
      : await promotionIsRunning(current.holder);
    if (running) return;
    // A release that raced the check has already run its handler by now: then nothing is abandoned.
    if (holder?.holder !== current.holder || holder.run !== current.run) return;
    const lost = holder;
    if (lost.applied && patched('lock-keeps-applied-bump')) {
      // Its bump may be live: reverting Git would make it lie about the cluster. The next deployment of
      // the environment reconciles; first let a deploy command still dying on a worker end.
      log.warn('holder is gone after it started applying; its bump stays, recorded as deployed', {
        holder: lost.holder,
        env: input.env,
      });
      if (lost.applying) await sleep(input.drainMs ?? DEFAULT_DRAIN_MS);
    } else {
      log.warn('holder is gone; reverting its bump and releasing the environment', {
        holder: lost.holder,
        env: input.env,
      });
      if (lost.branch && lost.valuesFile) {
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
          abandoned.push({ ...bump, until: Date.now() + ABANDONED_WATCH_MS });
        }
        await revertAbandonedBump(bump);
      }
    }
    if (holder === lost) holder = undefined;
  }

  /**
   * Rebuilt from the promotions' own explicit holding state: every candidate is read, and while any
   * cannot be (its worker is down, a query times out) nothing is granted; asked again every lease.
   */
  async function rebuildFailingClosed(): Promise<void> {
    const coldUntil = Date.now() + (input.reassertMs ?? DEFAULT_REASSERT_MS) + input.leaseMs;
    /** Every promotion listed in the environment was read and none holds it. */
    let quiet = true;
    for (;;) {
      rebuilding = true;
      const found = await findEnvironmentHolders({ repo: input.repo, env: input.env });
      rebuilding = false;
      unreadable = found.unreadable;
      // Every listed promotion's explicit holding state was read and none holds: nothing to wait for.
      if (found.holders.length > 0 || unreadable.length > 0) quiet = false;
      for (const candidate of found.holders) {
        // Released since the snapshot, or already known (it re-asserted meanwhile): nothing to learn.
        if (hasReleased(candidate)) continue;
        if ((holder && sameRun(holder, candidate)) || claims.some((c) => sameRun(c, candidate))) continue;
        const applying = unknownApplying.get(runKey(candidate));
        const learnt = applying === undefined ? candidate : { ...candidate, applying, applied: true };
        if (!holder) holder = learnt;
        else conflict(learnt, 'the rebuilt lock found it holding the environment besides another run');
        const index = queue.findIndex((q) => sameRun(q, candidate));
        if (index >= 0) queue.splice(index, 1);
      }
      describe();
      if (unreadable.length === 0) break;
      log.warn('cannot read every candidate holder; granting nothing yet', {
        env: input.env,
        unreadable,
      });
      await sleep(input.leaseMs);
    }
    // A holder that no snapshot shows (visibility lags, its state was unreadable) re-asserts within
    // this. When every listed promotion said it holds nothing, the lock grants at once: a lock that idled
    // out is rebuilt cold every time, and a first promotion must not wait (or hit its lockTimeout).
    const left = coldUntil - Date.now();
    if (left > 0 && !(quiet && !holder && claims.length === 0)) await sleep(left);
  }

  if (!input.carried && failsClosed) {
    await rebuildFailingClosed();
  } else if (!input.carried && patched('lock-rebuilt-from-holders')) {
    // A lock starting with no state may replace one that was terminated while someone held the
    // environment: that holder is found from the promotions themselves before anyone is granted.
    rebuilding = remembersReleased;
    const found = await findEnvironmentHolder({ repo: input.repo, env: input.env });
    rebuilding = false;
    // The snapshot predates signals that arrived while it was taken: a found holder that has released
    // since is gone, one that told us about its apply since is as it told.
    const stale = found !== undefined && hasReleased(found);
    if (found && !holder && !stale) {
      const applying = unknownApplying.get(runKey(found));
      holder = applying === undefined ? found : { ...found, applying, applied: true };
      const index = queue.findIndex((q) => sameRun(q, found));
      if (index >= 0) queue.splice(index, 1);
    }
  }

  /**
   * Signals alone (re-asserts, repeated requests) grow the history while a wait's condition stays
   * false: guarded runs also wake from every wait to continue as new when the history is long.
   */
  const wakesToContinue = patched('lock-wait-continues-as-new');
  const historyLong = () =>
    workflowInfo().historyLength > MAX_HISTORY_EVENTS || workflowInfo().continueAsNewSuggested;
  const orLong = (woken: () => boolean) => (wakesToContinue ? () => woken() || historyLong() : woken);

  /** A new current worker version (never on an unversioned worker): wakes the loop to move to it. */
  const upgradable = () => workflowInfo().targetWorkerDeploymentVersionChanged;

  describe();
  for (;;) {
    const held = holder;
    if (held && queue.length === 0) {
      // Nobody waits: no timers, so a holder waiting days for approval costs nothing.
      await condition(orLong(() => outbox.length > 0 || holder !== held || queue.length > 0 || upgradable()));
      if (holder === held && queue.length > 0) await releaseIfGone(held);
    } else if (held) {
      const changed = await condition(
        orLong(() => outbox.length > 0 || holder !== held || upgradable()),
        input.leaseMs,
      );
      if (!changed && holder === held) await releaseIfGone(held);
    } else {
      const woken = await condition(
        orLong(() => outbox.length > 0 || queue.length > 0 || upgradable()),
        input.idleMs,
      );
      if (!woken && outbox.length === 0) return;
    }
    while (outbox.length > 0) {
      const message = outbox.shift();
      const saga = followsSaga && message?.run ? { run: message.run } : {};
      if (message?.superseded) {
        const by = message.superseded.by;
        await tell(
          message.to,
          (h) => h.signal(supersededSignal, { env: input.env, by, ...saga }),
          message.run,
        );
      }
      if (message?.granted) {
        await tell(message.to, (h) => h.signal(lockGrantedSignal, { env: input.env, ...saga }), message.run);
      }
    }
    if (!holder && queue.length > 0 && abandoned.length > 0) {
      // Before handing the environment on: a gone holder's push that landed late is reverted too.
      for (const { until, ...bump } of abandoned.splice(0)) {
        await revertAbandonedBump(bump);
        if (until > Date.now()) abandoned.push({ ...bump, until });
      }
    }
    // A run that claims to hold the environment goes before anyone waiting: it may be mid-deploy.
    if (!holder && claims.length > 0) holder = claims.shift();
    while (!holder && queue.length > 0) {
      const next = queue.shift();
      const saga = followsSaga && next?.run ? { run: next.run } : {};
      if (
        next &&
        (await tell(next.holder, (h) => h.signal(lockGrantedSignal, { env: input.env, ...saga }), next.run))
      ) {
        holder = { ...next, since: new Date().toISOString() };
      }
    }
    describe();
    // A new current Worker Deployment Version: this pinned run moves to it by continuing as new, with
    // its state as input (unversioned workers never see the flag set, so old histories never get here).
    const upgrade = upgradable() && patched('lock-upgrades-on-continue-as-new');
    if (upgrade || historyLong()) {
      const carried: LockInput['carried'] = {
        ...(holder ? { holder } : {}),
        queue,
        ...(outbox.length ? { outbox } : {}),
        ...(released.length ? { released } : {}),
        ...(claims.length ? { claims } : {}),
        ...(abandoned.length ? { abandoned } : {}),
      };
      if (upgrade) {
        log.info('a new worker version is current; continuing as new on it', { env: input.env });
        await makeContinueAsNewFunc<typeof environmentLock>({ initialVersioningBehavior: 'AUTO_UPGRADE' })({
          ...input,
          carried,
        });
      }
      await continueAsNew<typeof environmentLock>({ ...input, carried });
    }
  }
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
