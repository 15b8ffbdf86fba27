import { ApplicationFailure, CancellationScope, condition, sleep } from '@temporalio/workflow';
import { patched, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { Activities, EnvironmentRequest } from '../activities/index.js';
import type { LockRequest } from '../common/definitions.js';
import { FailureType } from '../common/failures.js';
import type { EnvironmentState } from '../common/types.js';
import { TIMEOUTS } from './timeouts.js';

const { requestEnvironment, requestEnvironmentGranting } = proxyActivities<Activities>(TIMEOUTS.lookup);

const DEFAULT_LOCK_REASSERT_MS = 5 * 60_000;
/** The longest a re-assert backs off to: an hour (or twelve intervals, whichever is shorter). */
const MAX_REASSERT_BACKOFF_MS = 60 * 60_000;

/**
 * How long to wait before asking the lock again. Each re-assert costs the promotion about 11 history
 * events: at a fixed 5 minutes, a 72-hour wait made ~9,500. The interval doubles after each re-assert
 * that found nothing new, up to min(12 × base, 1 h) (never below the base), so a 72-hour wait makes
 * ~75 re-asserts and a 30-day one (the approvalTimeout cap) ~725: bounded far below Temporal's limits.
 * The price: a lock lost long ago is rebuilt by its waiters within the backed-off interval, not 5 min.
 */
export function reassertBackoff(base: number): {
  current: () => number;
  grow: () => void;
  reset: () => void;
} {
  const ceiling = Math.max(base, Math.min(base * 12, MAX_REASSERT_BACKOFF_MS));
  let interval = base;
  return {
    current: () => interval,
    grow: () => void (interval = Math.min(interval * 2, ceiling)),
    reset: () => void (interval = base),
  };
}

export interface Acquire {
  request: EnvironmentRequest;
  current: EnvironmentState;
  /** True once the lock granted the environment or a newer promotion took this one's place. */
  decided: () => boolean;
  /** The lock's answer to the request granted the environment (`lock-granted-in-request`). */
  grantedInAnswer: () => void;
  /** Called whenever the promotion ahead changes. */
  queuedBehind: (holder: string) => void;
  /** promote.yaml `lockTimeout`: queued longer than this fails, naming the holder. */
  lockTimeoutMs?: number;
}

function durationText(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`;
}

/** Queued longer than `lockTimeout`: fails cleanly, naming who holds the environment. */
export function lockTimedOut(current: EnvironmentState, lockTimeoutMs: number): ApplicationFailure {
  const ahead = current.queuedBehind ?? 'another promotion';
  setCurrentDetails(`${current.name}: lock timeout, still held by ${ahead}`);
  return ApplicationFailure.create({
    message: `waited longer than lockTimeout (${durationText(lockTimeoutMs)}) for ${current.name}, held by ${ahead}`,
    type: FailureType.LockTimedOut,
    nonRetryable: true,
  });
}

/**
 * Queues on the environment's lock and waits for it, asking again now and then so a lost lock is
 * rebuilt by its waiters. With a lock timeout, waiting longer fails with the holder's name. Resolves
 * with how often the lock wants to hear from its holder.
 */
export async function acquireEnvironment(input: Acquire): Promise<number> {
  const { current } = input;
  const started = Date.now();
  const { holder, reassertMs } = await firstRequest(input);
  if (holder) {
    current.queuedBehind = holder;
    input.queuedBehind(holder);
  }
  const every = reassertMs || DEFAULT_LOCK_REASSERT_MS;
  const backoff = patched('lock-reassert-backoff') ? reassertBackoff(every) : undefined;
  for (;;) {
    const interval = backoff?.current() ?? every;
    const left = input.lockTimeoutMs === undefined ? interval : input.lockTimeoutMs - (Date.now() - started);
    if (left <= 0) throw lockTimedOut(current, input.lockTimeoutMs ?? 0);
    if (await condition(input.decided, Math.min(interval, left))) break;
    if (input.lockTimeoutMs !== undefined && Date.now() - started >= input.lockTimeoutMs) continue;
    const again = await requestEnvironment(input.request);
    if (again.holder && again.holder !== current.queuedBehind) {
      current.queuedBehind = again.holder;
      input.queuedBehind(again.holder);
      backoff?.reset();
    } else backoff?.grow();
  }
  delete current.queuedBehind;
  return every;
}

/**
 * The first request for an environment: from `lock-granted-in-request` on, by update, and an
 * uncontended environment comes back granted (re-asserts still signal: they only repeat the request).
 */
export async function firstRequest(input: Pick<Acquire, 'request' | 'grantedInAnswer'>) {
  // The lock asks the same patch (lock-grant.ts): a request answered granted gets no grant signal.
  if (!patched('lock-granted-in-request')) return requestEnvironment(input.request);
  const answer = await requestEnvironmentGranting(input.request);
  if (answer.granted) input.grantedInAnswer();
  return answer;
}

/**
 * While holding the environment: tells the lock now and then that this run holds it and where its
 * apply stands, so a lock terminated or reset meanwhile learns it back. Cancel the scope before releasing.
 */
export function reassertWhileHolding(
  request: EnvironmentRequest,
  every: number,
  held: () => NonNullable<LockRequest['held']>,
): CancellationScope {
  const scope = new CancellationScope();
  scope
    .run(async () => {
      for (;;) {
        await sleep(every);
        await requestEnvironment({ ...request, held: held() });
      }
    })
    .catch(() => undefined);
  return scope;
}
