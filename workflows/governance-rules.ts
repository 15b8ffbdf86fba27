import {
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Activities, Gate } from '../activities/index.js';
import type { EnvironmentConfig, PromoteConfig } from '../config/schema.js';
import { blockAmong, blockText, type BlockedNotice } from '../common/governance.js';
import type { EnvironmentState, EnvironmentStatus, PromotionState } from '../common/types.js';
import type { WindowWait } from '../common/windows.js';
import {
  blockedSignal,
  overrideWindowUpdate,
  rulesChangedSignal,
  soakBrokenSignal,
} from '../common/governance-definitions.js';
import { LOCAL_READS_PATCH, LOCAL_TIMEOUTS, TIMEOUTS } from './timeouts.js';

const { governanceRules, governanceGate } = proxyActivities<Activities>(TIMEOUTS.lookup);
const { deployedState } = proxyActivities<Activities>(TIMEOUTS.soakCheck);
const local = proxyLocalActivities<Activities>(LOCAL_TIMEOUTS.lookup);

/** Runs from here on read the governance workflow before each environment and each apply. */
export const BLOCKS_PATCH = 'governance-blocks';
/** Runs from here on also wait for their environment's windows and freezes (and ad-hoc freezes). */
export const WINDOWS_PATCH = 'governance-windows';

/** Runs from here on soak an environment for its `soak` time before the next one starts. */
export const SOAK_PATCH = 'soak';

/** Runs from here on look at the cluster during a soak: an environment that stops running the values fails it. */
export const SOAK_WATCH_PATCH = 'soak-watches';

/** How often a soak looks at the cluster: a sixth of the soak, at least a minute, at most ten. */
const soakLookEvery = (soakMs: number) => Math.min(600_000, Math.max(60_000, Math.round(soakMs / 6)));

/** A closed environment is looked at again at least this often (a freeze far away, or never opening). */
const MAX_WINDOW_SLEEP_MS = 7 * 86_400_000;

/** Environment statuses an override may still be given in (it has not applied yet). */
const OVERRIDABLE: readonly EnvironmentStatus[] = [
  'pending',
  'queued',
  'bumping',
  'diffing',
  'waiting-approval',
  'waiting-window',
];

/**
 * A promotion's side of release governance (issue 22), kept out of promote.ts and propose.ts, which
 * only call it: `beforeEnvironment` before an environment starts, `beforeApply` right before an apply
 * (or a proposal's landing), `interrupted` in the approval wait so a block ends it at once. A closed
 * environment is waited for here, on a durable timer until the instant an activity computed.
 */
export interface Governed {
  /** `blocked` (or `cancelled` while waiting for a window) when the environment must not start. */
  beforeEnvironment(current: EnvironmentState): Promise<'blocked' | 'cancelled' | undefined>;
  /** Waits for the environment to be open; the reason the apply must not happen (a block), if any. */
  beforeApply(current: EnvironmentState): Promise<string | undefined>;
  /** True once a block notice for one of this promotion's tags arrived: a waiting approval wakes. */
  interrupted(): boolean;
  /** The block notice's reason, once one arrived. */
  blocked(): string | undefined;
  /** After an environment succeeded: its `soak` time; `failed` when it broke meanwhile (a rollback). */
  soakAfter(current: EnvironmentState): Promise<'failed' | 'cancelled' | undefined>;
}

/** Says in the promotion's thread why an environment is held (the Announcer's `governance`). */
export type GovernanceAnnouncer = (
  current: EnvironmentState,
  event: 'waiting-window' | 'soaking',
  detail: string,
) => Promise<void>;

export function governPromotion(
  state: PromotionState,
  config: PromoteConfig,
  setStatus: (env: EnvironmentState, status: EnvironmentStatus, details: string) => void,
  announce: GovernanceAnnouncer,
): Governed {
  let notice: BlockedNotice | undefined;
  /** Set by a freeze/unfreeze notice or an override: a window wait computes its opening again. */
  let changed = false;
  const carries = (n: BlockedNotice) => state.apps.some((a) => a.app === n.app && a.tag === n.tag);
  // The block command signals every running promotion carrying the tag; a stray one is ignored. Only
  // a notice that bites asks `patched`, so histories without one replay as they ran.
  setHandler(blockedSignal, (received) => {
    if (!received || !carries(received)) {
      log.warn('ignored a block notice for tags this promotion does not carry', { notice: received });
      return;
    }
    if (!notice && patched(BLOCKS_PATCH)) notice = received;
  });
  setHandler(rulesChangedSignal, () => {
    changed = true;
  });
  const broken = new Map<string, string>();
  setHandler(soakBrokenSignal, (notice) => {
    if (notice?.env && !broken.has(notice.env)) broken.set(notice.env, notice.reason ?? 'soak failed');
  });
  installOverride(state, () => {
    changed = true;
  });
  const overridden = (env: string) => state.windowOverrides?.some((o) => o.env === env) ?? false;

  async function gateOf(env: EnvironmentConfig): Promise<Gate | undefined> {
    const input = {
      env: env.name,
      apps: state.apps.map((a) => ({ app: a.app, tag: a.tag })),
      ...((env.windows ?? config.windows) ? { windows: env.windows ?? config.windows } : {}),
      freezes: [...(config.freezes ?? []), ...(env.freezes ?? [])],
      nowMs: Date.now(),
    };
    if (patched(WINDOWS_PATCH))
      return (patched(LOCAL_READS_PATCH) ? local.governanceGate : governanceGate)(input);
    if (!patched(BLOCKS_PATCH)) return undefined;
    const block = blockAmong(await governanceRules(), state.apps);
    return block ? { block } : {};
  }

  async function waitWindow(current: EnvironmentState, wait: WindowWait): Promise<void> {
    // Said again only when the reason changed (a freeze added or lifted), not on every wake-up.
    const unchanged = current.window?.details === wait.details;
    current.window = wait;
    state.status = 'waiting-window';
    setStatus(current, 'waiting-window', wait.details);
    if (!unchanged) await announce(current, 'waiting-window', wait.details);
  }

  /** Undefined once the environment is open (or overridden); the block's reason when blocked. */
  async function pass(current: EnvironmentState): Promise<string | undefined> {
    const env = config.environments.find((e) => e.name === current.name);
    if (!env) return undefined;
    const before = current.status;
    for (;;) {
      if (notice) return blockText(notice);
      const gate = await gateOf(env);
      if (gate?.block) return blockText(gate.block);
      if (!gate?.wait || overridden(env.name)) break;
      changed = false;
      await waitWindow(current, gate.wait);
      const ms = Math.min(MAX_WINDOW_SLEEP_MS, Math.max(1, Date.parse(gate.wait.until) - Date.now()));
      await condition(() => changed || notice !== undefined || overridden(env.name), ms, {
        summary: `${env.name} opens`,
      });
    }
    if (current.status === 'waiting-window') {
      delete current.window;
      state.status = 'running';
      // Before an environment starts it goes back to pending; before an apply the next step follows.
      if (before === 'pending') setStatus(current, 'pending', `${env.name} is open`);
    }
    return undefined;
  }

  return {
    async beforeEnvironment(current) {
      let reason: string | undefined;
      try {
        reason = await pass(current);
      } catch (error) {
        if (!isCancellation(error)) throw error;
        current.error = 'cancelled';
        current.finishedAt = new Date().toISOString();
        delete current.window;
        state.status = 'running';
        setStatus(current, 'failed', `${current.name} cancelled while waiting for its window`);
        return 'cancelled';
      }
      if (!reason) return undefined;
      current.error = reason;
      current.finishedAt = new Date().toISOString();
      setStatus(current, 'blocked', `${current.name} not started: ${reason}`);
      return 'blocked';
    },
    beforeApply: pass,
    soakAfter: (current) => soak(current, config, state, { setStatus, announce }, broken),
    interrupted: () => notice !== undefined,
    blocked: () => (notice ? blockText(notice) : undefined),
  };
}

/**
 * `promote approve --override-window`: an approver of the environment (anyone where it names none)
 * lets it deploy while closed; recorded with who and why in `windowOverrides` (the audit trail).
 */
function installOverride(state: PromotionState, onOverride: () => void): void {
  const problem = (input: { env: string; by: string; reason: string }): string | undefined => {
    const env = state.environments.find((e) => e.name === input?.env);
    if (!env) return `unknown environment "${input?.env}"`;
    if (!input.by?.trim()) return 'an override needs a name: who overrides (--as)';
    if (!input.reason?.trim()) return 'an override needs a reason (--reason)';
    if (env.approvers && !env.approvers.includes(input.by))
      return `${input.by} may not override ${env.name}'s window: its approvers are ${env.approvers.join(', ')}`;
    if (!OVERRIDABLE.includes(env.status))
      return `${env.name} is ${env.status}: there is no apply left to override`;
    if (state.windowOverrides?.some((o) => o.env === env.name))
      return `${env.name}'s window was already overridden`;
    return undefined;
  };
  setHandler(
    overrideWindowUpdate,
    (input) => {
      const refused = problem(input);
      if (refused) throw new Error(refused);
      const entry = {
        env: input.env,
        by: input.by.trim(),
        reason: input.reason.trim(),
        at: new Date().toISOString(),
      };
      state.windowOverrides = [...(state.windowOverrides ?? []), entry];
      onOverride();
      return entry;
    },
    {
      validator: (input: { env: string; by: string; reason: string }) => {
        const refused = problem(input);
        if (refused) throw new Error(refused);
      },
    },
  );
}

/**
 * `soak: 1h`: the tag runs in the environment that long after its apply succeeded before the next
 * environment starts (status `soaking`, `soakUntil`). A rollback of the environment meanwhile (`promote
 * rollback` tells promotions soaking there) stops the promotion: `failed`, the environment's error says
 * why. The last environment has nothing after it to hold back: no soak.
 */
async function soak(
  current: EnvironmentState,
  config: PromoteConfig,
  state: PromotionState,
  say: {
    setStatus: (env: EnvironmentState, status: EnvironmentStatus, details: string) => void;
    announce: GovernanceAnnouncer;
  },
  broken: Map<string, string>,
): Promise<'failed' | 'cancelled' | undefined> {
  const { setStatus } = say;
  const env = config.environments.find((e) => e.name === current.name);
  const last = state.environments[state.environments.length - 1]?.name === current.name;
  if (!env?.soak || last || !patched(SOAK_PATCH)) return undefined;
  const since = Date.parse(current.finishedAt ?? '') || Date.now();
  const until = since + env.soak;
  current.soakUntil = new Date(until).toISOString();
  state.status = 'soaking';
  const minutes = Math.ceil((until - Date.now()) / 60_000);
  setStatus(current, 'soaking', `${env.name} soaking until ${current.soakUntil} (${minutes} min left)`);
  try {
    const next = state.environments[state.environments.findIndex((e) => e.name === current.name) + 1];
    await say.announce(
      current,
      'soaking',
      `${env.name} soaking until ${current.soakUntil}: ${next?.name} starts after it`,
    );
    await soakWatching({ current, env, state, config, until, broken });
  } catch (error) {
    if (!isCancellation(error)) throw error;
    state.status = 'running';
    setStatus(current, 'succeeded', `${env.name} soak cancelled`);
    return 'cancelled';
  }
  state.status = 'running';
  const reason = broken.get(env.name);
  if (reason) {
    current.error = `soak failed: ${reason}`;
    setStatus(current, 'failed', `${env.name} ${current.error}`);
    return 'failed';
  }
  setStatus(current, 'succeeded', `${env.name} soaked for ${Math.round(env.soak / 60_000)} min`);
  return undefined;
}

/**
 * Waits out a soak, ending early on a `soakBroken` notice. From the `soak-watches` patch on it also asks
 * the deployer what the environment runs every {@link soakLookEvery}: values other than this
 * promotion's (rolled back or replaced outside Promote, a failed release) break the soak. A deployer
 * that cannot tell (a command deployer without `deploy.status`) is not asked again.
 */
async function soakWatching(s: {
  current: EnvironmentState;
  env: EnvironmentConfig;
  state: PromotionState;
  config: PromoteConfig;
  until: number;
  broken: Map<string, string>;
}): Promise<void> {
  const { current, env, until, broken } = s;
  const commit = current.commit;
  let watching = commit !== undefined && patched(SOAK_WATCH_PATCH);
  for (;;) {
    const left = Math.max(1, until - Date.now());
    const wait = watching ? Math.min(left, soakLookEvery(env.soak ?? 0)) : left;
    const woken = await condition(() => broken.has(env.name), wait, { summary: `${env.name} soak` });
    if (woken || !watching || !commit || Date.now() >= until) return;
    const look = await lookAtCluster(s, commit);
    if (!look.known) watching = false;
    else if (look.broken) broken.set(env.name, look.broken);
  }
}

/** Whether the deployer can tell what runs, and why that is no longer the promotion's values. */
async function lookAtCluster(
  s: { env: EnvironmentConfig; state: PromotionState; config: PromoteConfig },
  commit: string,
): Promise<{ known: boolean; broken?: string }> {
  try {
    const running = await deployedState({
      repo: s.state.repo,
      branch: s.config.branch,
      commit,
      env: s.env.name,
      promotionId: s.state.id,
      valuesFile: s.env.valuesFile,
      deploy: s.config.deploy,
    });
    if (!running.known) return { known: false };
    if (running.matches) return { known: true };
    const what = running.deployedCommit ? running.deployedCommit.slice(0, 12) : 'nothing it can name';
    return { known: true, broken: `${s.env.name} runs ${what}, not this promotion's values` };
  } catch (error) {
    if (isCancellation(error)) throw error;
    // A look that failed is no evidence either way: the soak goes on and looks again.
    log.warn('could not look at the cluster during a soak', { env: s.env.name, error: String(error) });
    return { known: true };
  }
}
