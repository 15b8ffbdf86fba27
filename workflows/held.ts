import {
  CancellationScope,
  condition,
  patched,
  proxyActivities,
  setCurrentDetails,
  sleep,
} from '@temporalio/workflow';
import type { Activities, BumpResult, DeployResult, EnvironmentRequest } from '../activities/index.js';
import type { EnvironmentConfig } from '../config/schema.js';
import type { EnvironmentState } from '../common/types.js';
import { firstRequest, lockTimedOut, reassertBackoff } from './acquire.js';
import {
  apply,
  approval,
  bumpInput,
  deployAt,
  diff,
  fail,
  newProgress,
  recordDiff,
  release,
  skip,
  stopBeforeApply,
  superseded,
  type Outcome,
  type Progress,
  type PromotionRun,
} from './steps.js';
import { now, tagValue } from './values.js';
import { TIMEOUTS } from './timeouts.js';

/**
 * An environment held for its whole way (auto approval, proposals off, and runs from before proposals):
 * queue for its lock → bump → diff → approval (manual) → apply → announce → release.
 */

const { bumpValues } = proxyActivities<Activities>(TIMEOUTS.git);
const stepGit = proxyActivities<Activities>(TIMEOUTS.gitStep);
const { deployedState } = proxyActivities<Activities>(TIMEOUTS.deploy);
const { requestEnvironment } = proxyActivities<Activities>(TIMEOUTS.lookup);
const { bumpAndDiff } = proxyActivities<Activities>(TIMEOUTS.bumpAndDiff);

/** Runs from here on bump and diff a held environment in one activity (`bumpAndDiff`). */
export const BUMP_AND_DIFF_PATCH = 'bump-and-diff';

/** How often a queued promotion asks its environment's lock again, so a lost lock is rebuilt. */
const DEFAULT_LOCK_REASSERT_MS = 5 * 60_000;

/** What the held flow has done so far: its compensation and its cleanup read it. */
interface Held extends Progress {
  bumpStarted: boolean;
  bump?: BumpResult | undefined;
}

export async function runHeld(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
): Promise<Outcome> {
  const held: Held = { ...newProgress(), bumpStarted: false };
  const undo = (reason: string) => undoHeld(p, env, current, held, reason);
  try {
    current.startedAt = now();
    const queued = await queue(p, env, current, held);
    if (!p.lock.granted.has(env.name))
      return await stopBeforeApply(p, env, current, superseded(p, env, current), undo);
    hold(p, queued, held);
    const { bump, diffed } = await bumpHeld(p, env, current, held);
    if (!bump.changed && !p.request.force) {
      // Values in Git are not proof they run (a holder terminated mid-apply): ask the deployer.
      const repair = patched('repair-when-values-in-git')
        ? await valuesNotRunning(p, env, bump.commit)
        : undefined;
      if (!repair) return skip(p, env, current);
      current.reapplied = repair;
    }
    const deployInput = deployAt(p, env, bump.commit);
    if (diffed) recordDiff(p, current, diffed);
    else await diff(p, current, deployInput, `diffing ${env.name} at ${bump.commit.slice(0, 12)}`);
    await p.announcer.progress(current, env, 'started');
    const stop =
      env.approval === 'manual'
        ? await approval(p, env, current)
        : p.lock.supersededBy.has(env.name)
          ? superseded(p, env, current)
          : undefined;
    if (stop) return await stopBeforeApply(p, env, current, stop, undo);
    // Release governance: a block or a closed environment is looked at right before the apply.
    const blocked = await p.governance.beforeApply(current);
    if (blocked) return await stopBeforeApply(p, env, current, { outcome: 'blocked', reason: blocked }, undo);
    return await apply(p, env, current, deployInput, held, p.saga.runScoped);
  } catch (error) {
    return await fail(p, env, current, error, undo, () => Boolean(held.bump || current.revertCommit));
  } finally {
    await release(p, env, held);
  }
}

/** Undo: older runs revert what the bump returned; run-scoped ones find their bump by its trailers. */
async function undoHeld(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  held: Held,
  reason: string,
) {
  if (!p.saga.runScoped) await p.compensation.compensate(env, current, held.bump, held.applyStarted, reason);
  else if (held.bumpStarted) await p.compensation.compensateRun(env, current, held.applyStarted, reason);
}

/** The lock request made, and how often the lock wants to hear from its holder. */
interface Queued {
  request: EnvironmentRequest;
  reassertMs: number | undefined;
}

/**
 * Queues on the environment's lock until it is granted or a newer promotion takes this one's place.
 * A reader must never see `queued` without knowing behind whom: from `queued-with-holder` on, the
 * status says it once the holder is known.
 */
async function queue(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  held: Held,
): Promise<Queued> {
  const queuedWithHolder = patched('queued-with-holder');
  if (!queuedWithHolder) p.status.setStatus(current, 'queued', `waiting for ${env.name} to be free`);
  held.requested = true;
  p.lock.want(env.name);
  const request = p.lock.request(env, p.config, p.apps);
  const { holder, reassertMs } = await firstRequest({
    request,
    grantedInAnswer: () => p.lock.grantedInAnswer(env.name),
  });
  if (holder) {
    current.queuedBehind = holder;
    if (queuedWithHolder) p.status.setStatus(current, 'queued', `queued for ${env.name} behind ${holder}`);
    else setCurrentDetails(`queued for ${env.name} behind ${holder}`);
  }
  if (p.saga.runScoped) await waitAsking(p, env, current, request, reassertMs);
  else await condition(() => p.lock.decided(env.name));
  delete current.queuedBehind;
  return { request, reassertMs };
}

/**
 * The lock is a cache of who waits: a lock workflow that was terminated or reset is rebuilt by its
 * waiters asking again (idempotently) now and then. promote.yaml `lockTimeout`: queued longer fails
 * naming the holder (runs before `lock-timeout` wait as before).
 */
async function waitAsking(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  request: EnvironmentRequest,
  reassertMs: number | undefined,
): Promise<void> {
  const lockTimeoutMs =
    env.lockTimeout !== undefined && patched('lock-timeout') ? env.lockTimeout : undefined;
  const queuedSince = Date.now();
  const every = reassertMs ?? DEFAULT_LOCK_REASSERT_MS;
  // Bounded history however long the wait: see reassertBackoff.
  const backoff = patched('lock-reassert-backoff') ? reassertBackoff(every) : undefined;
  const wait = () => {
    const interval = backoff?.current() ?? every;
    return lockTimeoutMs === undefined
      ? interval
      : Math.max(1, Math.min(interval, lockTimeoutMs - (Date.now() - queuedSince)));
  };
  while (!(await condition(() => p.lock.decided(env.name), wait()))) {
    if (lockTimeoutMs !== undefined && Date.now() - queuedSince >= lockTimeoutMs)
      throw lockTimedOut(current, lockTimeoutMs);
    const again = await requestEnvironment(request);
    if (again.holder && again.holder !== current.queuedBehind) {
      current.queuedBehind = again.holder;
      p.status.setStatus(current, 'queued', `queued for ${env.name} behind ${again.holder}`);
      backoff?.reset();
    } else backoff?.grow();
  }
}

/**
 * The lock is a cache of who holds, too: a lock workflow terminated or reset while this run holds the
 * environment learns it back, with where its apply stands, so it never reverts a live bump and still
 * cleans up after a run that died. A holder waiting days for approval re-asserts less and less often.
 */
function hold(p: PromotionRun, queued: Queued, held: Held): void {
  if (!(p.saga.runScoped && patched('lock-holder-reasserts'))) return;
  const every = queued.reassertMs ?? DEFAULT_LOCK_REASSERT_MS;
  const backoff = patched('lock-reassert-backoff') ? reassertBackoff(every) : undefined;
  const scope = new CancellationScope();
  held.holding = scope;
  scope
    .run(async () => {
      for (;;) {
        await sleep(backoff?.current() ?? every);
        await requestEnvironment({
          ...queued.request,
          held: { applying: held.applyStarted && !held.applyEnded, applied: held.applyStarted },
        });
        backoff?.grow();
      }
    })
    .catch(() => undefined);
}

/**
 * Commits the requested tags to the environment's values file on the deployment branch. From
 * `bump-and-diff` on, the diff that always follows comes back from the same activity (undefined when
 * the bump changed nothing): one round trip fewer. Only run-scoped runs: an undo after a diff that
 * failed finds the bump by its trailers, not by a result the activity never returned.
 */
async function bumpHeld(
  p: PromotionRun,
  env: EnvironmentConfig,
  current: EnvironmentState,
  held: Held,
): Promise<{ bump: BumpResult; diffed: DeployResult | undefined }> {
  const together = p.saga.runScoped && patched(BUMP_AND_DIFF_PATCH);
  const then = together ? ', then diffing' : '';
  p.status.setStatus(current, 'bumping', `committing tags to ${env.valuesFile} for ${env.name}${then}`);
  held.bumpStarted = true;
  const input = bumpInput(p, env);
  const { bump, diff: diffed } = together
    ? await bumpAndDiff({ ...input, deploy: p.config.deploy, ...(p.request.force ? { force: true } : {}) })
    : { bump: await (p.saga.runScoped ? stepGit.bumpValues : bumpValues)(input), diff: undefined };
  held.bump = bump;
  current.commit = bump.commit;
  current.previousTag = tagValue(bump.previousTags);
  return { bump, diffed };
}

/**
 * Why values already in Git must be applied anyway: the deployer reports a commit running whose values
 * differ. Undefined when they run, or when the deployer cannot tell (then `skipped`, as before).
 */
async function valuesNotRunning(
  p: PromotionRun,
  env: EnvironmentConfig,
  commit: string,
): Promise<string | undefined> {
  const running = await deployedState({
    repo: p.request.repo,
    branch: p.config.branch,
    commit,
    env: env.name,
    promotionId: p.state.id,
    valuesFile: env.valuesFile,
    deploy: p.config.deploy,
  });
  // Reporting nothing is no evidence either way (a cluster never deployed through Promote): skipped.
  if (!running.known || running.matches || !running.deployedCommit) return undefined;
  return `values already in Git; the cluster ran ${running.deployedCommit.slice(0, 12)}: applied`;
}
