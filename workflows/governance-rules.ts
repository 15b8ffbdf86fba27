import { log, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { blockAmong, blockText, type BlockedNotice } from '../common/governance.js';
import type { EnvironmentState, EnvironmentStatus, PromotionState } from '../common/types.js';
import { blockedSignal } from './governance-definitions.js';
import { TIMEOUTS } from './timeouts.js';

const { governanceRules } = proxyActivities<Activities>(TIMEOUTS.lookup);

/** Runs from here on read the governance workflow before each environment and each apply. */
export const BLOCKS_PATCH = 'governance-blocks';

/**
 * A promotion's side of release governance (issue 22), kept out of promote.ts and propose.ts, which
 * only call it: `beforeEnvironment` before an environment starts, `beforeApply` right before an apply
 * (or a proposal's landing), `interrupted` in the approval wait so a block ends it at once.
 */
export interface Governed {
  /** `blocked` when the environment must not start (it is marked so); undefined to go on. */
  beforeEnvironment(current: EnvironmentState): Promise<'blocked' | undefined>;
  /** Why the apply must not happen (a block), read afresh from the governance workflow. */
  beforeApply(): Promise<string | undefined>;
  /** True once a block notice for one of this promotion's tags arrived: a waiting approval wakes. */
  interrupted(): boolean;
  /** The block notice's reason, once one arrived. */
  blocked(): string | undefined;
}

export function governPromotion(
  state: PromotionState,
  setStatus: (env: EnvironmentState, status: EnvironmentStatus, details: string) => void,
): Governed {
  let notice: BlockedNotice | undefined;
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

  async function blockedNow(): Promise<string | undefined> {
    if (notice) return blockText(notice);
    if (!patched(BLOCKS_PATCH)) return undefined;
    const block = blockAmong(await governanceRules(), state.apps);
    return block ? blockText(block) : undefined;
  }

  return {
    async beforeEnvironment(current) {
      const reason = await blockedNow();
      if (!reason) return undefined;
      current.error = reason;
      current.finishedAt = new Date().toISOString();
      setStatus(current, 'blocked', `${current.name} not started: ${reason}`);
      return 'blocked';
    },
    beforeApply: blockedNow,
    interrupted: () => notice !== undefined,
    blocked: () => (notice ? blockText(notice) : undefined),
  };
}
