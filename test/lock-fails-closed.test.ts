import { describe, expect, it } from '@jest/globals';
import { decide, getStatus, waitFinished, waitForApproval } from '../client/promotions.js';
import { environmentLockId, repositoryKey } from '../common/ids.js';
import { lockStateQuery, type LockState } from '../common/definitions.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';
import { approveToSuccess } from './support/approve.js';

/**
 * A lock workflow rebuilt without state decides from the promotions themselves. When it cannot read
 * one of them (its worker is down), it must not grant: that promotion may hold the environment and
 * have an unapproved bump on the branch, which the next apply would carry out.
 */
const suite = useTemporal();
const MANUAL = { approval: 'manual', proposals: false } as const;
const GRANTED = ['bumping', 'diffing', 'waiting-approval', 'applying', 'succeeded'];

/** A lock's state, or undefined while nobody answers its query within 2 s (its worker is down). */
function lockState(id: string): Promise<LockState | undefined> {
  const client = suite.temporal.client;
  return client
    .withDeadline(Date.now() + 2_000, () => client.workflow.getHandle(id).query(lockStateQuery))
    .catch((): LockState | undefined => undefined);
}

/** A promotion that takes staging and waits for approval; then its worker stops, leaving it running. */
async function holdStagingThenStop(repo: TestRepo, taskQueue: string): Promise<string> {
  const client = suite.temporal.client;
  return suite.temporal.withWorker(
    async () => {
      const started = await startTagPromotion(client, taskQueue, repo);
      await waitForApproval(client, started.workflowId, 'staging');
      return started.workflowId;
    },
    { taskQueue, keepWorkflows: true },
  );
}

describe('a lock rebuilt while its holder’s worker is down', () => {
  it('grants nothing until it can read the holder, then serves it first', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    const client = suite.temporal.client;
    const lockId = environmentLockId(repositoryKey(repo.url), 'staging');
    const holderQueue = `fails-closed-${process.pid}-${Date.now()}`;

    // The holder takes staging and waits for approval; then its worker stops, leaving it running.
    const holder = await holdStagingThenStop(repo, holderQueue);
    // The lock is lost while nobody can read its holder.
    await client.workflow.getHandle(lockId).terminate('lost lock');

    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const next = await startTagPromotion(client, taskQueue, repo, { app: 'web', tag: '2.1.0' });
      // The rebuilt lock either grants the next promotion or says whom it cannot read.
      const decided = await eventually('the rebuilt lock to decide', async () => {
        const state = await getStatus(client, next.workflowId);
        if (GRANTED.includes(state.environments[0]?.status ?? '')) return 'granted';
        const lock = await lockState(lockId);
        return lock?.unreadable?.includes(holder) ? 'closed' : undefined;
      });
      expect(decided).toBe('closed');
      // Still waiting (queued, or pending while the lock names nobody ahead of it): not granted.
      expect(['pending', 'queued']).toContain(
        (await getStatus(client, next.workflowId)).environments[0]?.status,
      );

      // The holder's worker comes back: the lock learns it and serves it before the next one.
      await suite.temporal.withWorker(
        async () => {
          const learnt = await eventually('the lock to know its holder', async () => {
            const lock = await lockState(lockId);
            return lock?.holder && !lock.unreadable ? lock : undefined;
          });
          expect(learnt.holder?.holder).toBe(holder);
          await decide(client, holder, { env: 'staging', approved: true, by: 'carol' });
          expect((await waitFinished(client, holder)).status).toBe('succeeded');
        },
        { taskQueue: holderQueue },
      );

      await approveToSuccess(client, next.workflowId, 'staging', 'carol');
      // The next bump came after the holder's deploy; nothing was reverted or carried along.
      expect((await repo.commits()).map((c) => c.subject).slice(0, 2)).toEqual([
        'feat(staging): update web to 2.1.0',
        'feat(staging): update api to 1.5.0',
      ]);
    });
  });
});

/**
 * Failing closed is about the promotions that may hold *this* repository's environment. A rebuilt lock
 * lists every running promotion whose current environment has the same name, in every repository, and
 * learns a promotion's repository from its status query: one of another repository whose worker is
 * down must not keep this repository's environment closed.
 */
describe('a lock rebuilt while another repository’s promotion cannot be read', () => {
  it('grants its own free environment', async () => {
    const other = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    const repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    const client = suite.temporal.client;
    const otherQueue = `fails-closed-other-${process.pid}-${Date.now()}`;

    // Another team's promotion holds its own repository's staging; then its worker stops.
    const stranger = await holdStagingThenStop(other, otherQueue);
    try {
      await suite.temporal.withWorker(async ({ taskQueue }) => {
        const mine = await startTagPromotion(client, taskQueue, repo, { app: 'web', tag: '2.1.0' });
        const lockId = environmentLockId(repositoryKey(repo.url), 'staging');
        // This repository's staging is free: its new lock grants it, or says whom it cannot read.
        const decided = await eventually('this repository’s lock to decide', async () => {
          const state = await getStatus(client, mine.workflowId);
          if (GRANTED.includes(state.environments[0]?.status ?? '')) return 'granted';
          const lock = await lockState(lockId);
          return lock?.unreadable?.includes(stranger) ? `closed: cannot read ${stranger}` : undefined;
        });
        expect(decided).toBe('granted');
        await approveToSuccess(client, mine.workflowId, 'staging', 'carol');
      });
    } finally {
      for (const id of [stranger, environmentLockId(repositoryKey(other.url), 'staging')]) {
        await client.workflow
          .getHandle(id)
          .terminate('test over')
          .catch(() => undefined);
      }
    }
  });
});
