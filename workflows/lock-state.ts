import { condition, log, metricMeter, patched, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { AbandonedBump } from '../common/types.js';
import {
  lockApplyingSignal,
  lockReleaseSignal,
  lockRequestSignal,
  lockRequestUpdate,
  lockStateQuery,
  type LockAnswer,
  type LockHolder,
  type LockInput,
  type LockRequest,
  type LockState,
  type ReleasedRun,
} from '../common/definitions.js';

/**
 * The environment lock's state, the only code that changes it from outside (the request, release and
 * applying signals) and the state query. The lock's phases (environment-lock.ts and the lock-*.ts
 * modules) read and change it between waits; handlers only ever queue messages, never send them.
 */

/** Released runs remembered: far more than can have a request still in flight. */
const MAX_RELEASED = 200;

/**
 * The longest a request made by update waits for the lock to decide (a rebuild reading the promotions,
 * a gone holder's late push reverted): well within the asking activity's 30 s, so it answers rather
 * than being asked again. Past it, the answer says who is ahead and the grant comes by signal.
 */
const ANSWER_WAIT_MS = 10_000;

/** A notice the lock owes a promotion (a grant, a supersede), sent by the main loop. */
export type Message = NonNullable<LockState['outbox']>[number];

/** A gone holder whose late push is still looked for until `until` (see lock-holder-gone.ts). */
export type Abandoned = AbandonedBump & { until: number };

type Run = { holder: string; run?: string };
type Execution = Run & { current?: string; landing?: number };
/** A request from a run saying it holds the environment. */
type Reasserting = LockRequest & { held: NonNullable<LockRequest['held']> };

/** The same run asking again; requests from runs that predate run ids match on the workflow id alone. */
export function sameRun(a: Run, b: Run): boolean {
  return a.holder === b.holder && (a.run === undefined || b.run === undefined || a.run === b.run);
}

const runKey = (who: Run) => `${who.holder} ${who.run ?? ''}`;

export class LockLedger {
  readonly env: string;
  holder: LockHolder | undefined;
  readonly queue: LockRequest[];
  readonly outbox: Message[];
  /**
   * A run that released never asks again: a late copy of its request is stale, and so is a holder a
   * rebuild found in a snapshot taken before that release arrived. Only runs with an id are remembered
   * (a run without one would match every later run of its workflow id).
   */
  readonly remembersReleased: boolean;
  /**
   * A promotion's saga survives `temporal workflow reset` (its run id does not): grants and supersede
   * notices go to the workflow id, naming the saga, and a reset run (another `current` execution of a
   * saga) is not a late copy of what its saga sent before.
   */
  readonly followsSaga: boolean;
  readonly released: ReleasedRun[];
  /**
   * Fails closed: a lock starting without carried state grants nothing while it cannot read a candidate
   * holder, nor for a re-assert interval plus a lease (every holder re-asserts within it); a second run
   * saying it holds the environment raises an alert and takes its turn before any queued request.
   */
  readonly failsClosed: boolean;
  readonly claims: LockHolder[];
  /** Gone holders whose late push is still looked for (see lock-holder-gone.ts). */
  readonly abandoned: Abandoned[];
  /** Candidate holders a fail-closed rebuild could not read: nothing is granted while there are any. */
  unreadable: string[] = [];
  /** Apply notices that arrive while the lock is being rebuilt, before it knows its holder: the newest per run. */
  rebuilding = false;
  /** The main loop runs: a start-up rebuild is done, so a request's answer can be decided. */
  ready = false;
  /** Requests (by run) whose update waits for the decision: granted in the answer, not by signal. */
  private readonly answering = new Map<string, number>();
  private readonly unknownApplying = new Map<string, boolean>();
  private readonly conflicts: ReturnType<typeof metricMeter.createCounter>;

  /** Asks the lock's start-up patches in the order recorded runs asked them (before any command). */
  constructor(input: LockInput) {
    const carried = input.carried;
    this.env = input.env;
    this.holder = carried?.holder;
    this.queue = [...(carried?.queue ?? [])];
    this.outbox = [...(carried?.outbox ?? [])];
    this.remembersReleased = patched('lock-remembers-released-runs');
    this.followsSaga = patched('lock-follows-saga');
    this.released = [...(carried?.released ?? [])];
    this.failsClosed = patched('lock-fails-closed');
    this.claims = [...(carried?.claims ?? [])];
    this.abandoned = [...(carried?.abandoned ?? [])];
    this.conflicts = metricMeter.createCounter(
      'promote_lock_conflicts',
      '1',
      'runs claiming an environment another run holds: investigate, the lock serves them one at a time',
    );
  }

  /** Installs the query and the signal handlers, in the order recorded runs installed them. */
  install(): void {
    setHandler(lockStateQuery, () => this.answer());
    setHandler(lockRequestSignal, (request) => this.onRequest(request));
    setHandler(lockReleaseSignal, (release) => this.onRelease(release));
    setHandler(lockApplyingSignal, (notice) => this.onApplying(notice));
    setHandler(lockRequestUpdate, (request) => this.onRequestUpdate(request));
  }

  /** The run's update waits for the lock's decision: a grant goes in its answer, not in a signal. */
  answersGrant(who: Run): boolean {
    return (this.answering.get(runKey(who)) ?? 0) > 0;
  }

  /**
   * Every request waiting for an answer can get it without the main loop: it holds, someone does, or
   * nothing is left to grant (a free environment with waiters is the main loop's to grant).
   */
  decided(): boolean {
    return this.holder !== undefined || (this.ready && this.queue.length === 0 && this.claims.length === 0);
  }

  /**
   * The `requestLock` update: queued as by the `lockRequest` signal, answered once the lock decided
   * (bounded: see ANSWER_WAIT_MS). Idempotent: the holder asking again, a retried activity whose first
   * answer was lost, is answered granted again; no run is granted twice.
   */
  private async onRequestUpdate(request: LockRequest): Promise<LockAnswer> {
    this.onRequest(request);
    if (!this.decided()) {
      const key = runKey(request);
      this.answering.set(key, (this.answering.get(key) ?? 0) + 1);
      try {
        await condition(() => this.decided(), ANSWER_WAIT_MS);
      } finally {
        const left = (this.answering.get(key) ?? 1) - 1;
        if (left > 0) this.answering.set(key, left);
        else this.answering.delete(key);
      }
    }
    if (this.holder && sameRun(this.holder, request)) return { granted: true };
    const ahead = this.holder ?? this.claims[0] ?? this.queue[0];
    return ahead && !sameRun(ahead, request) ? { holder: ahead.holder } : {};
  }

  /** The `lockState` query. */
  answer(): LockState {
    return {
      ...(this.holder ? { holder: this.holder } : {}),
      queue: this.queue,
      ...(this.claims.length ? { claims: this.claims } : {}),
      ...(this.unreadable.length ? { unreadable: this.unreadable } : {}),
    };
  }

  /** The state continue-as-new carries to the next run. */
  carried(): NonNullable<LockInput['carried']> {
    return {
      ...(this.holder ? { holder: this.holder } : {}),
      queue: this.queue,
      ...(this.outbox.length ? { outbox: this.outbox } : {}),
      ...(this.released.length ? { released: this.released } : {}),
      ...(this.claims.length ? { claims: this.claims } : {}),
      ...(this.abandoned.length ? { abandoned: this.abandoned } : {}),
    };
  }

  /** What the Web UI shows for the lock. */
  describe(): void {
    const { claims, unreadable, holder, queue, env } = this;
    setCurrentDetails(
      (claims.length ? `CONFLICT: ${claims.map((c) => c.holder).join(', ')} also claim ${env}; ` : '') +
        (unreadable.length ? `cannot read ${unreadable.join(', ')}: granting nothing; ` : '') +
        (holder
          ? `${env}: held by ${holder.holder}${queue.length ? `; queued: ${queue.map((q) => q.holder).join(', ')}` : ''}`
          : `${env}: free`),
    );
  }

  sameExecution(a: { current?: string }, b: { current?: string }): boolean {
    return !this.followsSaga || a.current === undefined || b.current === undefined || a.current === b.current;
  }

  hasReleased(who: Execution): boolean {
    return (
      this.remembersReleased &&
      who.run !== undefined &&
      this.released.some(
        (r) =>
          r.holder === who.holder &&
          r.run === who.run &&
          (r.landing ?? 1) === (who.landing ?? 1) &&
          this.sameExecution(r, who),
      )
    );
  }

  /** A second run says it holds the environment: it waits its turn ahead of the queue, with an alert. */
  conflict(claimant: LockHolder, why: string): void {
    this.claims.push(claimant);
    this.conflicts.add(1, { env: this.env });
    log.error('ALERT: a second run says it holds the environment; no grants until each claim is done', {
      holder: this.holder?.holder,
      claims: claimant.holder,
      env: this.env,
      why,
    });
  }

  /** Drops a run's queued request, if any. */
  unqueue(who: Run): void {
    const index = this.queue.findIndex((q) => sameRun(q, who));
    if (index >= 0) this.queue.splice(index, 1);
  }

  /** A holder found in a snapshot, as it told the lock about its apply since the snapshot was taken. */
  asTold(found: LockHolder): LockHolder {
    const applying = this.unknownApplying.get(runKey(found));
    return applying === undefined ? found : { ...found, applying, applied: true };
  }

  /** The `lockRequest` signal: queue a promotion, a holder asking again, or a holder re-asserting. */
  private onRequest(request: LockRequest): void {
    if (this.holder && sameRun(this.holder, request)) return this.reaskedByHolder(request);
    if (this.queue.some((q) => sameRun(q, request))) return;
    if (this.hasReleased(request)) {
      log.warn('ignored a request from a run that already released the environment', {
        holder: request.holder,
        env: this.env,
      });
      return;
    }
    if (request.held && this.reasserted(request as Reasserting)) return;
    this.enqueue(request);
  }

  /**
   * The holder's saga asking without `held`, from another execution: it was reset to before its grant
   * and waits for one. Granted again (its bump, if any, is its own and found by its trailers).
   */
  private reaskedByHolder(request: LockRequest): void {
    const holder = this.holder as LockHolder;
    if (this.followsSaga && !request.held && !this.sameExecution(holder, request)) {
      this.holder = { ...holder, current: request.current };
      this.outbox.push({ to: holder.holder, run: holder.run, granted: true });
    }
  }

  /**
   * A holder this lock does not know re-asserts: the lock was terminated or reset since it granted.
   * True when that settled the request; false when it queues like any other (runs before adoption).
   */
  private reasserted(request: Reasserting): boolean {
    const { held, ...asked } = request;
    const claimant: LockHolder = {
      ...asked,
      since: new Date().toISOString(),
      ...(held.applied ? { applied: true } : {}),
      ...(held.applying ? { applying: true } : {}),
    };
    if (this.holder && this.failsClosed) {
      const known = this.claims.findIndex((c) => sameRun(c, asked));
      if (known >= 0)
        this.claims[known] = { ...claimant, since: this.claims[known]?.since ?? claimant.since };
      else this.conflict(claimant, 'it re-asserted while another run holds the environment');
      this.unqueue(asked);
      this.describe();
      return true;
    }
    if (this.holder) {
      log.error('a second run says it holds the environment; keeping the current holder', {
        holder: this.holder.holder,
        claims: asked.holder,
        env: this.env,
      });
      return true;
    }
    if (!patched('lock-adopts-reasserting-holder')) return false;
    this.holder = claimant;
    this.describe();
    return true;
  }

  /**
   * A newer request whose apps cover an older waiter's (or the holder's, while it has not started
   * applying) takes its place, and the older one is told it was superseded.
   */
  private enqueue(request: LockRequest): void {
    const coveredBy = (older: LockRequest) => older.apps.every((app) => request.apps.includes(app));
    const index = this.queue.findIndex(coveredBy);
    if (index >= 0) {
      const [older] = this.queue.splice(index, 1, request);
      if (older) this.outbox.push({ to: older.holder, run: older.run, superseded: { by: request.holder } });
    } else if (this.holder && coveredBy(this.holder)) {
      // The holder gives way only if it has not started applying; either way the newer one is next.
      this.queue.unshift(request);
      this.outbox.push({ to: this.holder.holder, run: this.holder.run, superseded: { by: request.holder } });
    } else {
      this.queue.push(request);
    }
    this.describe();
  }

  /** The `lockRelease` signal: the run is remembered, and no longer holds, claims or waits. */
  private onRelease(release: Execution): void {
    if (this.remembersReleased && release.run !== undefined && !this.hasReleased(release)) {
      this.released.push({
        holder: release.holder,
        run: release.run,
        ...(release.current ? { current: release.current } : {}),
        ...(release.landing ? { landing: release.landing } : {}),
      });
      if (this.released.length > MAX_RELEASED) this.released.splice(0, this.released.length - MAX_RELEASED);
    }
    if (this.holder && sameRun(this.holder, release)) this.holder = undefined;
    const claim = this.claims.findIndex((c) => sameRun(c, release));
    if (claim >= 0) this.claims.splice(claim, 1);
    this.unqueue(release);
    this.describe();
  }

  /** The `lockApplying` signal: a new holder object, so the main loop's wait wakes on it. */
  private onApplying({ applying, ...who }: Run & { applying: boolean }): void {
    if (this.rebuilding && !this.holder) this.unknownApplying.set(runKey(who), applying);
    const claim = this.claims.findIndex((c) => sameRun(c, who));
    if (claim >= 0) this.claims[claim] = { ...(this.claims[claim] as LockHolder), applying, applied: true };
    if (!this.holder || !sameRun(this.holder, who)) return;
    this.holder = { ...this.holder, applying, applied: true };
  }
}
