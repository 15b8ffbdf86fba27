import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { DEPLOY_HEARTBEAT_TIMEOUT_MS } from '../common/constants.js';
import {
  lockRequestSignal,
  lockRequestUpdate,
  lockStateQuery,
  type LockInput,
  type LockRequest,
} from '../common/definitions.js';
import { environmentLockId } from '../common/ids.js';
import { DEFAULT_DEPLOY_GRACE_MS } from './deployers/deployer.js';
import type { ActivityDeps } from './deps.js';

/**
 * A promotion asking for an environment: its lock workflow is started if it does not run, and told
 * the request. `requestEnvironment` signals and then reads who is ahead (the grant comes later, by
 * signal); `requestEnvironmentGranting` (promotions since `lock-granted-in-request`) asks by update,
 * and an uncontended environment comes back granted in the same round trip.
 */

/** A promotion asking for an environment: what the lock receives (LockRequest), and which lock. */
export interface EnvironmentRequest extends LockRequest {
  repo: string;
  env: string;
  /** The lock's workflow id, chosen by the workflow (absent: derived from `repo`, as runs before it did). */
  lockId?: string;
}

/** What the lock said: granted (by update only), or who is ahead; and how often to ask again. */
export interface EnvironmentAnswer {
  granted?: boolean;
  holder?: string;
  reassertMs: number;
}

type LockDeps = Pick<
  ActivityDeps,
  'client' | 'lockReassertMs' | 'lockLeaseMs' | 'lockIdleMs' | 'lockDrainMs' | 'deployGraceMs'
>;

const reassertOf = (deps: LockDeps) => deps.lockReassertMs ?? 5 * 60_000;

/**
 * How long a free lock (no holder, nobody queued) waits for a request before it ends, unless
 * PROMOTE_LOCK_IDLE_MS says otherwise. A lock that has ended costs the next promotion of its environment
 * one visibility list of the environment's running promotions, read by their memo (a rebuild), which is
 * milliseconds; a lock that waits stays in the worker's workflow cache all that time. At 200 promotions
 * at once through three environments, the five minutes this was kept every finished environment's
 * lock cached for the whole run: 600 locks beside 200 promotions (docs/performance.md).
 */
export const DEFAULT_LOCK_IDLE_MS = 60_000;

function lockInputOf(deps: LockDeps, request: EnvironmentRequest): LockInput {
  return {
    repo: request.repo,
    env: request.env,
    leaseMs: deps.lockLeaseMs ?? 60_000,
    idleMs: deps.lockIdleMs ?? DEFAULT_LOCK_IDLE_MS,
    drainMs:
      deps.lockDrainMs ??
      DEPLOY_HEARTBEAT_TIMEOUT_MS + (deps.deployGraceMs ?? DEFAULT_DEPLOY_GRACE_MS) + 5_000,
    reassertMs: reassertOf(deps),
    // The git step's heartbeat timeout (30 s) plus a margin; an operator's lockDrainMs covers both.
    pushDrainMs: deps.lockDrainMs ?? 35_000,
  };
}

/** The lock's part of the request, without the fields that only say which lock. */
function lockRequestOf(request: EnvironmentRequest): LockRequest {
  return {
    holder: request.holder,
    apps: request.apps,
    ...(request.branch ? { branch: request.branch } : {}),
    ...(request.valuesFile ? { valuesFile: request.valuesFile } : {}),
    ...(request.run ? { run: request.run } : {}),
    ...(request.current ? { current: request.current } : {}),
    ...(request.held ? { held: request.held } : {}),
    ...(request.landing ? { landing: request.landing } : {}),
  };
}

function lockStart(deps: LockDeps, request: EnvironmentRequest) {
  return {
    workflowId: request.lockId ?? environmentLockId(request.repo, request.env),
    taskQueue: Context.current().info.taskQueue,
    args: [lockInputOf(deps, request)] as [LockInput],
    staticSummary: `one deployment at a time in ${request.env}`,
  };
}

/** Queues the promotion by signal, then reads who is ahead (runs before `lock-granted-in-request`). */
export async function requestEnvironment(
  deps: LockDeps,
  request: EnvironmentRequest,
): Promise<EnvironmentAnswer> {
  const reassertMs = reassertOf(deps);
  const handle = await deps.client.workflow.signalWithStart('environmentLock', {
    ...lockStart(deps, request),
    signal: lockRequestSignal,
    signalArgs: [lockRequestOf(request)],
  });
  const state = await handle.query(lockStateQuery).catch(() => undefined);
  // Between two grants the lock has no holder but a queue: then we wait behind its head.
  const ahead = state?.holder ?? state?.queue[0];
  const isMe = ahead?.holder === request.holder && (ahead.run ?? '') === (request.run ?? '');
  return ahead && !isMe ? { holder: ahead.holder, reassertMs } : { reassertMs };
}

/**
 * Queues the promotion by update-with-start and returns the lock's answer: granted when this run holds
 * the environment (asked again after a lost answer: granted again), otherwise who is ahead. A lock
 * that continued as new or ended under the update fails the attempt; the retry asks the new run.
 */
export async function requestEnvironmentGranting(
  deps: LockDeps,
  request: EnvironmentRequest,
): Promise<EnvironmentAnswer> {
  const startWorkflowOperation = new WithStartWorkflowOperation('environmentLock', {
    ...lockStart(deps, request),
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  const answer = await deps.client.workflow.executeUpdateWithStart(lockRequestUpdate, {
    args: [lockRequestOf(request)],
    startWorkflowOperation,
  });
  return {
    ...(answer.granted ? { granted: true } : {}),
    ...(answer.holder ? { holder: answer.holder } : {}),
    reassertMs: reassertOf(deps),
  };
}
