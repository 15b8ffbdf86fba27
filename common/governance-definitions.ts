import { defineQuery, defineSignal, defineUpdate } from './define.js';
import type {
  BlockedNotice,
  BlockInput,
  FreezeInput,
  GovernanceRules,
  UnblockInput,
  UnfreezeInput,
} from './governance.js';
import type { WindowOverride } from './windows.js';

/** The governance workflow's rules: blocks, ad-hoc freezes and the audit trail of their changes. */
export const rulesQuery = defineQuery<GovernanceRules>('rules');

/** `promote block app=tag`; refused (validator) without a reason or when already blocked. */
export const blockUpdate = defineUpdate<GovernanceRules, [BlockInput]>('block');
export const unblockUpdate = defineUpdate<GovernanceRules, [UnblockInput]>('unblock');
/** `promote freeze --env … --until …`: closes an environment until then. */
export const freezeUpdate = defineUpdate<GovernanceRules, [FreezeInput]>('freeze');
export const unfreezeUpdate = defineUpdate<GovernanceRules, [UnfreezeInput]>('unfreeze');

/** `promote block` → each running promotion carrying the tag: stop at the next step and compensate. */
export const blockedSignal = defineSignal<[BlockedNotice]>('blocked');

/** `promote rollback` → promotions soaking in that environment: the soak failed, stop. */
export const soakBrokenSignal = defineSignal<[{ env: string; reason: string }]>('soakBroken');

/** `promote freeze`/`unfreeze` → promotions waiting for a window: compute the next opening again. */
export const rulesChangedSignal = defineSignal('governanceChanged');

/** `promote approve --override-window`: an approver lets a closed environment be deployed now, with a reason. */
export const overrideWindowUpdate = defineUpdate<
  WindowOverride,
  [{ env: string; by: string; reason: string }]
>('overrideWindow');
