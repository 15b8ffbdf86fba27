import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  activeFreezes,
  blockProblem,
  EMPTY_RULES,
  freezeProblem,
  unblockProblem,
  unfreezeProblem,
  withChange,
  type BlockInput,
  type FreezeInput,
  type GovernanceRules,
  type UnblockInput,
  type UnfreezeInput,
} from '../common/governance.js';
import {
  blockUpdate,
  freezeUpdate,
  rulesQuery,
  unblockUpdate,
  unfreezeUpdate,
} from '../common/governance-definitions.js';

/** Carried across continue-as-new. */
export interface GovernanceInput {
  carried?: GovernanceRules;
}

function refuse(problem: string | undefined): void {
  if (problem)
    throw ApplicationFailure.create({ message: problem, type: 'InvalidGovernance', nonRetryable: true });
}

/**
 * The namespace's release rules (issue 22): blocked `app=tag` pairs and ad-hoc freezes, each change
 * recorded with who and why. One long-running workflow (`promote-governance`), started on demand by
 * the first `promote block`/`freeze` (update-with-start); promotions read it through the `rules` query.
 * It issues no commands of its own, so its history is only its updates; it continues as new when the
 * server suggests, carrying the rules (freezes already over are dropped then).
 */
export async function governance(input: GovernanceInput = {}): Promise<void> {
  const rules: GovernanceRules = {
    ...EMPTY_RULES,
    ...input.carried,
  };
  const now = () => new Date().toISOString();

  setHandler(rulesQuery, () => rules);
  setHandler(
    blockUpdate,
    (block) => {
      refuse(blockProblem(block, rules));
      const entry = {
        app: block.app,
        tag: block.tag,
        by: block.by.trim(),
        reason: block.reason.trim(),
        at: now(),
      };
      rules.blocks = [...rules.blocks, entry];
      rules.changes = withChange(rules, {
        action: 'block',
        subject: `${block.app}=${block.tag}`,
        by: entry.by,
        reason: entry.reason,
        at: entry.at,
      });
      return rules;
    },
    { validator: (block: BlockInput) => refuse(blockProblem(block, rules)) },
  );
  setHandler(
    unblockUpdate,
    (unblock) => {
      refuse(unblockProblem(unblock, rules));
      rules.blocks = rules.blocks.filter((b) => !(b.app === unblock.app && b.tag === unblock.tag));
      rules.changes = withChange(rules, {
        action: 'unblock',
        subject: `${unblock.app}=${unblock.tag}`,
        by: unblock.by.trim(),
        ...(unblock.reason?.trim() ? { reason: unblock.reason.trim() } : {}),
        at: now(),
      });
      return rules;
    },
    { validator: (unblock: UnblockInput) => refuse(unblockProblem(unblock, rules)) },
  );
  setHandler(
    freezeUpdate,
    (freeze) => {
      refuse(freezeProblem(freeze, Date.now()));
      const entry = {
        env: freeze.env,
        until: new Date(Date.parse(freeze.until)).toISOString(),
        by: freeze.by.trim(),
        reason: freeze.reason.trim(),
        at: now(),
      };
      // One ad-hoc freeze per environment: a second replaces the first (it may shorten or extend it).
      rules.freezes = [...activeFreezes(rules, Date.now()).filter((f) => f.env !== freeze.env), entry];
      rules.changes = withChange(rules, {
        action: 'freeze',
        subject: freeze.env,
        by: entry.by,
        reason: `${entry.reason} (until ${entry.until})`,
        at: entry.at,
      });
      return rules;
    },
    { validator: (freeze: FreezeInput) => refuse(freezeProblem(freeze, Date.now())) },
  );
  setHandler(
    unfreezeUpdate,
    (unfreeze) => {
      refuse(unfreezeProblem(unfreeze, rules, Date.now()));
      rules.freezes = activeFreezes(rules, Date.now()).filter((f) => f.env !== unfreeze.env);
      rules.changes = withChange(rules, {
        action: 'unfreeze',
        subject: unfreeze.env,
        by: unfreeze.by.trim(),
        ...(unfreeze.reason?.trim() ? { reason: unfreeze.reason.trim() } : {}),
        at: now(),
      });
      return rules;
    },
    { validator: (unfreeze: UnfreezeInput) => refuse(unfreezeProblem(unfreeze, rules, Date.now())) },
  );

  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof governance>({
    carried: { ...rules, freezes: activeFreezes(rules, Date.now()) },
  });
}
