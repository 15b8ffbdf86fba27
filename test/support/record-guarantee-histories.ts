// Histories of the patched paths added for issues 19 and 23 (approval policies, signed approvals, decision
// input checks, a reset that keeps the saga, bounded and abandoned compensation, hand-merged proposals,
// the lock that fails closed, drains pushes and keeps an applied bump, a repair of values already in
// Git), recorded from the code that takes them under new names. Each runs only when its file is missing.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { decide, getStatus, startPromotion, waitFinished, waitForApproval } from '../../client/promotions.js';
import type { PromotionRequest } from '../../common/types.js';
import { decideSignal } from '../../common/definitions.js';
import { promoteCli } from './cli.js';
import { prod, prodOnly, waitingProposal } from './proposals.js';
import { approveToEnd, lockRebuiltByHolder, type Recorder } from './record-scenario.js';
import { TestRepo } from './repo.js';
import { resetWorkflow } from './reset.js';
import { lockIdOf } from './locks.js';
import { envStatus, eventually } from './wait.js';

const MANUAL = { approval: 'manual', proposals: false } as const;
const leads = 'approverGroups:\n  leads: [alice, bob, carol]\n';
/** staging approved by two of the group `leads`. */
const QUORUM_OF_LEADS = {
  environments: [{ name: 'staging', approval: 'manual' as const, approvers: ['leads'], minApprovals: 2 }],
  extraConfig: leads,
};
/** staging held through the approval wait. */
const HELD_STAGING = { environments: [{ name: 'staging', ...MANUAL }] };
const API = { apps: [{ app: 'api', tag: '1.5.0' }] };
const WEB = { apps: [{ app: 'web', tag: '2.1.0' }] };

export async function recordGuaranteeHistories({
  temporal,
  client,
  save,
  missing,
  scenario,
}: Recorder): Promise<void> {
  const cli = (taskQueue: string, args: string[]) =>
    promoteCli(args, { address: temporal.address, taskQueue });
  const lockOf = lockIdOf;
  const start = (repo: TestRepo, taskQueue: string, request: Omit<PromotionRequest, 'repo'>) =>
    startPromotion(client, { repo: repo.url, requestedBy: 'ci-bot', ...request }, { taskQueue });
  /** Staging rejected on a branch that refuses every revert (branch protection): compensation cannot end. */
  const rejectUnrevertable = async (repo: TestRepo, id: string) => {
    await repo.refuseReverts();
    await decide(client, id, { env: 'staging', approved: false, by: 'carol', comment: 'not today' });
  };
  /** Started, and waiting for approval in staging. */
  const startWaiting = async (repo: TestRepo, taskQueue: string, request: Omit<PromotionRequest, 'repo'>) => {
    const h = await start(repo, taskQueue, request);
    await waitForApproval(client, h.workflowId, 'staging');
    return h;
  };
  const commitIn = async (id: string, env: string) =>
    (await waitForApproval(client, id, env)).environments.find((e) => e.name === env)?.commit ?? '';

  // A quorum of two from a group ('approval-policies'), after two signals it ignores
  // ('decision-input-checks'): a malformed one and one naming no proposal commit.
  await scenario(['promote-quorum-approved'], QUORUM_OF_LEADS, async (repo, taskQueue) => {
    const h = await start(repo, taskQueue, API);
    const commit = await commitIn(h.workflowId, 'staging');
    await h.signal(decideSignal, { env: 'staging', approved: 'yes', by: 'alice' } as never);
    await h.signal(decideSignal, { env: 'staging', approved: true, by: 'alice' });
    await decide(client, h.workflowId, { env: 'staging', approved: true, by: 'alice', commit });
    await eventually('the first approval to show', async () => {
      const env = (await getStatus(client, h.workflowId)).environments[0];
      return env?.decisions?.length === 1 ? true : undefined;
    });
    await decide(client, h.workflowId, { env: 'staging', approved: true, by: 'bob', commit });
    await waitFinished(client, h.workflowId);
    await save(client, 'promote-quorum-approved', h.workflowId);
  });

  // One approval of two, then a rejection by another approver ends it.
  await scenario(['promote-quorum-rejected'], QUORUM_OF_LEADS, async (repo, taskQueue) => {
    const h = await start(repo, taskQueue, API);
    const commit = await commitIn(h.workflowId, 'staging');
    await decide(client, h.workflowId, { env: 'staging', approved: true, by: 'alice', commit });
    await decide(client, h.workflowId, {
      env: 'staging',
      approved: false,
      by: 'bob',
      commit,
      comment: 'not this week',
    });
    await waitFinished(client, h.workflowId);
    await save(client, 'promote-quorum-rejected', h.workflowId);
  });

  // A signed approval verified against allowed_signers on the deployment branch ('signed-approvals').
  if (missing('promote-signed-approval')) {
    const keys = await mkdtemp(join(tmpdir(), 'promote-keys-'));
    try {
      const key = join(keys, 'alice');
      await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key]);
      const pub = (await readFile(`${key}.pub`, 'utf8')).trim();
      await scenario(
        ['promote-signed-approval'],
        {
          environments: [
            { name: 'staging', approval: 'manual', approvers: ['alice', 'bob'], signedApprovals: 'required' },
          ],
        },
        async (repo, taskQueue) => {
          await repo.commitFile('.promote/allowed_signers', `alice ${pub}\n`, 'chore: who signs approvals');
          const h = await start(repo, taskQueue, API);
          await commitIn(h.workflowId, 'staging');
          const approved = await cli(taskQueue, [
            'approve',
            h.workflowId,
            '--env',
            'staging',
            '--as',
            'alice',
            '--sign-key',
            key,
          ]);
          if (approved.code !== 0) throw new Error(`signed approval refused: ${approved.stderr}`);
          await waitFinished(client, h.workflowId);
          await save(client, 'promote-signed-approval', h.workflowId);
        },
      );
    } finally {
      await rm(keys, { recursive: true, force: true });
    }
  }

  // `temporal workflow reset` while holding staging, then approved ('reset-keeps-saga'); the lock saw
  // the reset run's release as its saga's own ('lock-follows-saga') and granted the next promotion.
  await scenario(
    ['promote-reset-while-holding', 'environment-lock-after-reset'],
    HELD_STAGING,
    async (repo, taskQueue) => {
      const first = await startWaiting(repo, taskQueue, API);
      const run = await resetWorkflow(temporal, first.workflowId, 'LastWorkflowTask');
      await approveToEnd(client, first.workflowId, 'staging');
      const next = await start(repo, taskQueue, WEB);
      await approveToEnd(client, next.workflowId, 'staging');
      await save(client, 'promote-reset-while-holding', first.workflowId, run);
      await save(client, 'environment-lock-after-reset', lockOf(repo, 'staging'));
    },
  );

  // Reset to its start after it deployed staging: the reset run finds its own bump, then prod approved.
  await scenario(
    ['promote-reset-to-start'],
    {
      environments: [
        { name: 'staging', approval: 'auto' },
        { name: 'prod', ...MANUAL },
      ],
    },
    async (repo, taskQueue) => {
      const h = await start(repo, taskQueue, API);
      await waitForApproval(client, h.workflowId, 'prod');
      const run = await resetWorkflow(temporal, h.workflowId, 'FirstWorkflowTask');
      await approveToEnd(client, h.workflowId, 'prod', 'alice');
      await save(client, 'promote-reset-to-start', h.workflowId, run);
    },
  );

  // A revert the branch refuses for good, retried until an operator gives up with `promote abandon`
  // ('bounded-compensation'); the queued promotion then gets staging.
  await scenario(
    ['promote-compensation-abandoned'],
    HELD_STAGING,
    async (repo, taskQueue) => {
      const first = await startWaiting(repo, taskQueue, API);
      const second = await start(repo, taskQueue, WEB);
      await envStatus(client, second.workflowId, 'staging', 'queued');
      await rejectUnrevertable(repo, first.workflowId);
      await eventually('staging to be compensating', async () => {
        const env = (await getStatus(client, first.workflowId)).environments[0];
        return env?.compensation && !env.compensation.left ? true : undefined;
      });
      const given = await cli(taskQueue, [
        'abandon',
        first.workflowId,
        '--env',
        'staging',
        '--reason',
        'branch protection; reverting by hand',
        '--as',
        'dana',
      ]);
      if (given.code !== 0) throw new Error(`abandon refused: ${given.stderr}`);
      await waitFinished(client, first.workflowId);
      await approveToEnd(client, second.workflowId, 'staging');
      await save(client, 'promote-compensation-abandoned', first.workflowId);
    },
    { compensationRetryMs: 60 * 60_000 },
  );

  // The same refused revert, ended by its (short) budget: compensation-failed with what is left.
  await scenario(
    ['promote-compensation-failed'],
    HELD_STAGING,
    async (repo, taskQueue) => {
      const h = await startWaiting(repo, taskQueue, API);
      await rejectUnrevertable(repo, h.workflowId);
      await waitFinished(client, h.workflowId);
      await save(client, 'promote-compensation-failed', h.workflowId);
    },
    { compensationRetryMs: 4_000 },
  );

  // A proposal merged by hand, then rejected: reverted by its trailers ('hand-merged-proposal').
  await scenario(['promote-hand-merged-rejected'], { environments: prodOnly }, async (repo, taskQueue) => {
    const h = await start(repo, taskQueue, API);
    const waiting = prod(await waitingProposal(client, h.workflowId));
    await repo.mergeByHand(waiting.proposal?.branch ?? '');
    await decide(client, h.workflowId, { env: 'prod', approved: false, by: 'alice', comment: 'no' });
    await waitFinished(client, h.workflowId);
    await save(client, 'promote-hand-merged-rejected', h.workflowId);
  });

  // A proposal merged by hand, then approved: landing finds it stale, it is rebuilt and approved again
  // ('landing-reasserts', 'hand-merged-proposal' at landing).
  await scenario(['promote-hand-merged-approved'], { environments: prodOnly }, async (repo, taskQueue) => {
    const h = await start(repo, taskQueue, API);
    const waiting = prod(await waitingProposal(client, h.workflowId));
    await repo.mergeByHand(waiting.proposal?.branch ?? '');
    await decide(client, h.workflowId, {
      env: 'prod',
      approved: true,
      by: 'alice',
      commit: waiting.commit ?? '',
    });
    const again = prod(await waitingProposal(client, h.workflowId, true));
    await decide(client, h.workflowId, {
      env: 'prod',
      approved: true,
      by: 'alice',
      commit: again.commit ?? '',
    });
    await waitFinished(client, h.workflowId);
    await save(client, 'promote-hand-merged-approved', h.workflowId);
  });

  // A holder terminated mid-apply; the same request again finds its values in Git and applies
  // ('repair-when-values-in-git'); the lock kept the applied bump ('lock-keeps-applied-bump').
  await scenario(
    ['promote-repaired-values-in-git', 'environment-lock-keeps-applied-bump'],
    { environments: [{ name: 'dev', approval: 'auto' }] },
    async (repo, taskQueue) => {
      const before = await start(repo, taskQueue, { apps: [{ app: 'api', tag: '1.4.9' }] });
      await waitFinished(client, before.workflowId);
      await writeFile(join(repo.cluster, 'slow-apply'), '30');
      const first = await start(repo, taskQueue, API);
      await eventually('the apply to start', async () =>
        (await repo.deployLog()).filter((l) => / start dev /.test(l)).length === 2 ? true : undefined,
      );
      await client.workflow.getHandle(first.workflowId).terminate('operator terminated it mid-apply');
      await eventually('the apply to end', async () =>
        (await repo.deployLog()).some((l) => / terminated dev /.test(l)) ? true : undefined,
      );
      await rm(join(repo.cluster, 'slow-apply'));
      const again = await start(repo, taskQueue, API);
      await waitFinished(client, again.workflowId);
      await save(client, 'promote-repaired-values-in-git', again.workflowId);
      await save(client, 'environment-lock-keeps-applied-bump', lockOf(repo, 'dev'));
    },
  );

  // A holder terminated while waiting for approval, someone queued: the lock drains its push, reverts
  // its bump ('lock-drains-pushes') and grants the next one, which is approved.
  await scenario(
    ['environment-lock-drains-pushes', 'promote-after-abandoned-holder'],
    HELD_STAGING,
    async (repo, taskQueue) => {
      const stuck = await startWaiting(repo, taskQueue, API);
      const next = await start(repo, taskQueue, WEB);
      await envStatus(client, next.workflowId, 'staging', 'queued');
      await stuck.terminate('recording an abandoned holder');
      await approveToEnd(client, next.workflowId, 'staging');
      await save(client, 'environment-lock-drains-pushes', lockOf(repo, 'staging'));
      await save(client, 'promote-after-abandoned-holder', next.workflowId);
    },
  );

  // The lock terminated while its holder waits: rebuilt without state, it fails closed (grants nothing
  // for a re-assert interval plus a lease), adopts the re-asserting holder, then serves a waiter.
  await scenario(
    ['environment-lock-rebuilt-fails-closed', 'promote-reasserts-to-rebuilt-lock'],
    HELD_STAGING,
    async (repo, taskQueue) => {
      const holder = await startWaiting(repo, taskQueue, API);
      const { lockId, rebuilt } = await lockRebuiltByHolder(client, repo, 'staging');
      const waiter = await start(repo, taskQueue, WEB);
      await envStatus(client, waiter.workflowId, 'staging', 'queued');
      await approveToEnd(client, holder.workflowId, 'staging');
      await approveToEnd(client, waiter.workflowId, 'staging');
      await save(client, 'environment-lock-rebuilt-fails-closed', lockId, rebuilt);
      await save(client, 'promote-reasserts-to-rebuilt-lock', holder.workflowId);
    },
  );
}
