import { describe, expect, it } from '@jest/globals';
import { decide, startPromotion, waitFinished, waitForApproval } from '../../client/promotions.js';
import { TestRepo } from '../support/repo.js';
import { useTemporal } from '../support/suite.js';

const suite = useTemporal();

const TWO_ENVS = {
  environments: [
    { name: 'dev', approval: 'auto' as const },
    { name: 'staging', approval: 'manual' as const },
  ],
};

/** Starts a promotion and returns it waiting for staging's approval, with the proposal commit shown. */
async function waitingInStaging(taskQueue: string, tag: string) {
  const repo = await TestRepo.create(TWO_ENVS);
  const client = suite.temporal.client;
  const handle = await startPromotion(
    client,
    { repo: repo.url, apps: [{ app: 'api', tag }], requestedBy: 'ci-bot' },
    { taskQueue },
  );
  const state = await waitForApproval(client, handle.workflowId, 'staging');
  const commit = state.environments.find((e) => e.name === 'staging')?.commit ?? '';
  expect(commit).toMatch(/^[0-9a-f]{40}$/);
  return { id: handle.workflowId, commit, handle: client.workflow.getHandle(handle.workflowId) };
}

/** Approves staging of promotion `id` as `by`, for `commit`, and expects the decision to say so. */
async function approveStagingAs(id: string, by: string, commit: string): Promise<void> {
  const decision = await decide(suite.temporal.client, id, { env: 'staging', approved: true, by, commit });
  expect(decision).toMatchObject({ approved: true, by });
}

describe('decision payloads are checked by type at every door', () => {
  it('the decide update refuses payloads of the wrong type or without the proposal commit', async () => {
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const { id, commit, handle } = await waitingInStaging(taskQueue, '1.5.0');
      // Raw payloads, as any client of the Temporal API could send them: none may decide anything.
      const bad: [unknown, RegExp][] = [
        [{ env: 'staging', approved: 'false', by: 'carol', commit }, /approved must be true or false/],
        [{ env: 'staging', approved: 1, by: 'carol', commit }, /approved must be true or false/],
        [{ env: 'staging', approved: true, by: 'carol', commit: 123 }, /commit must be a string/],
        [{ env: 'staging', approved: true, by: '', commit }, /by must be a non-empty string/],
        [{ env: 'staging', approved: true, by: { name: 'carol' }, commit }, /by must be a non-empty string/],
        [{ env: ['staging'], approved: true, by: 'carol', commit }, /env must be a string/],
        [{ env: 'staging', approved: false, by: 'carol', comment: 42, commit }, /comment must be a string/],
        [null, /a decision must be an object/],
        [
          { env: 'staging', approved: false, by: 'carol', comment: 'x'.repeat(10_000), commit },
          /comment is too long/,
        ],
        [{ env: 'staging', approved: true, by: 'carol' }, /name the proposal commit/],
      ];
      for (const [payload, message] of bad) {
        await expect(handle.executeUpdate('decide', { args: [payload] })).rejects.toMatchObject({
          cause: { message: expect.stringMatching(message) },
        });
      }
      const after = await waitForApproval(suite.temporal.client, id, 'staging');
      expect(after.environments.find((e) => e.name === 'staging')).toMatchObject({
        status: 'waiting-approval',
      });
      expect(after.environments.find((e) => e.name === 'staging')?.decision).toBeUndefined();

      // A well-formed decision still works.
      await approveStagingAs(id, 'carol', commit);
      expect(await waitFinished(suite.temporal.client, id)).toMatchObject({ status: 'succeeded' });
    });
  });

  it('a malformed decide signal is ignored, the workflow keeps going, and a later approval works', async () => {
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const { id, commit, handle } = await waitingInStaging(taskQueue, '1.6.0');
      await handle.signal('decideSignal', { env: 'staging', approved: true, by: 'carol', commit: 123 });
      await handle.signal('decideSignal', { env: 'staging', approved: 'false', by: 'carol', commit });
      await handle.signal('decideSignal', { env: 'staging', approved: true, by: 'carol' });
      await handle.signal('decideSignal', null);
      // Had any of them decided, this would be refused as "already approved".
      await approveStagingAs(id, 'dave', commit);
      const state = await waitFinished(suite.temporal.client, id);
      expect(state.status).toBe('succeeded');
      expect(state.environments.find((e) => e.name === 'staging')?.decision).toMatchObject({
        approved: true,
        by: 'dave',
      });
      // No workflow task ever failed on the bad payloads.
      const history = await handle.fetchHistory();
      expect((history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
    });
  });
});
