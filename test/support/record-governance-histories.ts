// Histories of release governance (issue 22): promotions stopped by a block, and the governance
// workflow itself. Each scenario runs only when its file is missing (histories are append-only).
import {
  blockTag,
  changeRules,
  freezeEnvironment,
  overrideWindow,
  unfreezeEnvironment,
} from '../../client/governance.js';
import { waitFinished } from '../../client/promotions.js';
import { GOVERNANCE_WORKFLOW_ID } from '../../common/governance.js';
import { blockUpdate, soakBrokenSignal, unblockUpdate } from '../../common/governance-definitions.js';
import { DEV_THEN_STAGING_AUTO, soakDev } from './environments.js';
import { approveToEnd, type Recorder } from './record-scenario.js';
import { envStatus } from './wait.js';
import { startTagPromotion } from './requests.js';

const block = { app: 'api', tag: '1.6.0', by: 'alice', reason: 'memory leak' };

export async function recordGovernanceHistories({ client, saving }: Recorder): Promise<void> {
  // A proposal waiting for approval, closed by `promote block` (the signal); then the rules unblocked.
  await saving(['promote-blocked-while-waiting', 'governance-block-unblock'], {}, async (repo, taskQueue) => {
    const h = await startTagPromotion(client, taskQueue, repo, { tag: '1.6.0' });
    await envStatus(client, h.workflowId, 'staging', 'waiting-approval');
    await blockTag(client, block, { taskQueue });
    await waitFinished(client, h.workflowId);
    await changeRules(client, unblockUpdate, { app: 'api', tag: '1.6.0', by: 'bob' }, { taskQueue });
    return {
      'promote-blocked-while-waiting': h.workflowId,
      'governance-block-unblock': GOVERNANCE_WORKFLOW_ID,
    };
  });

  // The signal missed: the block is read right before the apply, and the bump reverted.
  await saving(
    ['promote-blocked-before-apply'],
    {
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'staging', approval: 'manual', proposals: false },
      ],
    },
    async (repo, taskQueue) => {
      const h = await startTagPromotion(client, taskQueue, repo, { tag: '1.6.0' });
      await envStatus(client, h.workflowId, 'staging', 'waiting-approval');
      await changeRules(client, blockUpdate, block, { taskQueue });
      await approveToEnd(client, h.workflowId, 'staging');
      return { 'promote-blocked-before-apply': h.workflowId };
    },
  );

  // A frozen environment: one promotion waits for its window and goes on when it is unfrozen, the
  // next one is let through by an override (governance-windows).
  await saving(
    ['promote-waiting-window-unfrozen', 'promote-window-overridden'],
    { environments: DEV_THEN_STAGING_AUTO },
    async (repo, taskQueue) => {
      const until = new Date(Date.now() + 3_600_000).toISOString();
      const freezeStaging = () =>
        freezeEnvironment(
          client,
          { env: 'staging', until, by: 'alice', reason: 'sale freeze' },
          { taskQueue },
        );
      await freezeStaging();
      const h = await startTagPromotion(client, taskQueue, repo);
      await envStatus(client, h.workflowId, 'staging', 'waiting-window');
      await unfreezeEnvironment(client, { env: 'staging', by: 'alice' }, { taskQueue });
      await waitFinished(client, h.workflowId);
      await freezeStaging();
      const o = await startTagPromotion(client, taskQueue, repo, { tag: '1.6.0' });
      await envStatus(client, o.workflowId, 'staging', 'waiting-window');
      await overrideWindow(client, o.workflowId, { env: 'staging', by: 'carol', reason: 'hotfix' });
      await waitFinished(client, o.workflowId);
      return { 'promote-waiting-window-unfrozen': h.workflowId, 'promote-window-overridden': o.workflowId };
    },
  );

  // soak: one environment soaked to the end, and one whose soak was broken by a rollback notice.
  const twoAuto = { environments: DEV_THEN_STAGING_AUTO };
  await saving(['promote-soaked'], twoAuto, async (repo, taskQueue) => {
    await soakDev(repo, '2s', 'soak dev');
    const h = await startTagPromotion(client, taskQueue, repo);
    await waitFinished(client, h.workflowId);
    return { 'promote-soaked': h.workflowId };
  });
  await saving(['promote-soak-broken'], twoAuto, async (repo, taskQueue) => {
    await soakDev(repo, '1h', 'soak dev');
    const h = await startTagPromotion(client, taskQueue, repo);
    await envStatus(client, h.workflowId, 'dev', 'soaking');
    await client.workflow
      .getHandle(h.workflowId)
      .signal(soakBrokenSignal, { env: 'dev', reason: 'api rolled back in dev' });
    await waitFinished(client, h.workflowId);
    return { 'promote-soak-broken': h.workflowId };
  });

  // A Slack-announced promotion (governance-announcements): dev soaks 2 s, then staging is frozen and
  // waits for its window until unfrozen; both holds are said in the promotion's thread.
  await saving(
    ['promote-governance-announced'],
    { ...twoAuto, extraConfig: `notifications:\n  slack:\n    channel: '#deploys'\n` },
    async (repo, taskQueue) => {
      await soakDev(repo, '2s', 'soak dev');
      const until = new Date(Date.now() + 3_600_000).toISOString();
      await freezeEnvironment(
        client,
        { env: 'staging', until, by: 'alice', reason: 'sale freeze' },
        { taskQueue },
      );
      const h = await startTagPromotion(client, taskQueue, repo);
      await envStatus(client, h.workflowId, 'staging', 'waiting-window');
      await unfreezeEnvironment(client, { env: 'staging', by: 'alice' }, { taskQueue });
      await waitFinished(client, h.workflowId);
      return { 'promote-governance-announced': h.workflowId };
    },
  );

  // soak-watches: dev soaks 70 s and is looked at once (after a minute) while it soaks; it still runs
  // the promotion's values, so staging follows.
  await saving(['promote-soak-watched'], twoAuto, async (repo, taskQueue) => {
    await soakDev(repo, '70s', 'soak dev for 70 s');
    const h = await startTagPromotion(client, taskQueue, repo);
    await waitFinished(client, h.workflowId);
    return { 'promote-soak-watched': h.workflowId };
  });
}
