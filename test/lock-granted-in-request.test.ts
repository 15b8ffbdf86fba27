import { describe, expect, it } from '@jest/globals';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { decide, waitFinished, waitForApproval } from '../client/promotions.js';
import { lockRequestUpdate, lockStateQuery } from '../common/definitions.js';
import { lockIdOf } from './support/locks.js';
import { TestRepo } from './support/repo.js';
import { DEV_AUTO_THEN_STAGING_HELD } from './support/environments.js';
import { holderThenQueued, promotionRequest, startTagPromotion } from './support/requests.js';
import { useTemporal } from './support/suite.js';

/**
 * Issue 21 item 2: an uncontended lock is granted in the same round trip as the request
 * (`lock-granted-in-request`). The activity that asks learns the grant from the lock's answer, so the
 * promotion goes on to its bump in the workflow task the activity's completion starts, without waiting
 * for a `lockGranted` signal (and the workflow task it costs). Contended requests still queue and are
 * granted in order, by signal.
 */
const suite = useTemporal();

interface HistoryEvent {
  eventId: string;
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  activityTaskCompletedEventAttributes?: { scheduledEventId?: string };
  workflowExecutionSignaledEventAttributes?: { signalName?: string; input?: unknown };
}

async function eventsOf(client: Client, id: string): Promise<HistoryEvent[]> {
  const history = await client.workflow.getHandle(id).fetchHistory();
  return (JSON.parse(historyToJSON(history)) as { events: HistoryEvent[] }).events;
}

const activity = (e: HistoryEvent) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? '';
const signalled = (events: HistoryEvent[], name: string) =>
  events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === name);

/**
 * What happens between the first lock request's completion and the bump being scheduled: the workflow
 * tasks completed and the signals received in between.
 */
function betweenRequestAndBump(events: HistoryEvent[]): { tasks: number; signals: string[] } {
  const request = events.find((e) => activity(e).startsWith('requestEnvironment'));
  const completed = events.find(
    (e) => e.activityTaskCompletedEventAttributes?.scheduledEventId === request?.eventId,
  );
  const bump = events.find((e) => activity(e) === 'bumpAndDiff');
  expect(completed).toBeDefined();
  expect(bump).toBeDefined();
  const between = events.slice(
    events.indexOf(completed as HistoryEvent),
    events.indexOf(bump as HistoryEvent),
  );
  return {
    tasks: between.filter((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED').length,
    signals: between.flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []),
  };
}

describe('a lock granted in the same round trip as the request', () => {
  it('grants an uncontended environment in the request’s answer, without a grant signal', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const { workflowId: id } = await startTagPromotion(client, taskQueue, repo);
      const final = await waitFinished(client, id);
      expect(final.environments.map((e) => e.status)).toEqual(['succeeded']);
      expect(await repo.live('dev')).toContain('tag: "1.5.0"');

      const events = await eventsOf(client, id);
      expect(signalled(events, 'lockGranted')).toEqual([]);
      // The bump is scheduled by the workflow task the request's completion started: one task, no signal.
      expect(betweenRequestAndBump(events)).toEqual({ tasks: 1, signals: [] });
    });
  });

  it('still queues contended requests and grants them in order, by signal', async () => {
    const repo = await TestRepo.create({ environments: DEV_AUTO_THEN_STAGING_HELD });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const { first, second, queued } = await holderThenQueued(client, taskQueue, promotionRequest(repo));
      const staging = queued.environments.find((e) => e.name === 'staging');
      expect(staging?.queuedBehind).toBe(first.workflowId);

      await decide(client, first.workflowId, { env: 'staging', approved: true, by: 'carol' });
      expect((await waitFinished(client, first.workflowId)).status).toBe('succeeded');
      // The queued one gets staging once the first released it, and no earlier.
      await waitForApproval(client, second.workflowId, 'staging');
      await decide(client, second.workflowId, { env: 'staging', approved: true, by: 'carol' });
      expect((await waitFinished(client, second.workflowId)).status).toBe('succeeded');

      // The first got dev and staging in its requests' answers; the second dev likewise, staging by signal.
      expect(signalled(await eventsOf(client, first.workflowId), 'lockGranted')).toEqual([]);
      const grants = signalled(await eventsOf(client, second.workflowId), 'lockGranted');
      expect(grants).toHaveLength(1);
      const live = await repo.live('staging');
      expect(live).toContain('tag: "1.5.0"');
      expect(live).toContain('tag: "2.1.0"');
    });
  });

  it('answers a retried request from the holder granted again, and grants nobody twice', async () => {
    const repo = await TestRepo.create({ environments: DEV_AUTO_THEN_STAGING_HELD });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const first = await startTagPromotion(client, taskQueue, repo);
      await waitForApproval(client, first.workflowId, 'staging');
      const lock = client.workflow.getHandle(lockIdOf(repo, 'staging'));
      const asked = {
        holder: first.workflowId,
        run: first.firstExecutionRunId,
        apps: ['api'],
        branch: 'main',
        valuesFile: 'environments/staging.yaml',
      };
      // The activity's answer was lost (its worker died after the update completed): asked again.
      expect(await lock.executeUpdate(lockRequestUpdate, { args: [asked] })).toEqual({ granted: true });
      expect(await lock.executeUpdate(lockRequestUpdate, { args: [asked] })).toEqual({ granted: true });
      // Someone else asking is told who is ahead and queued once, however often it asks.
      const other = { ...asked, holder: 'someone-else', run: 'their-run', apps: ['web'] };
      expect(await lock.executeUpdate(lockRequestUpdate, { args: [other] })).toEqual({
        holder: first.workflowId,
      });
      expect(await lock.executeUpdate(lockRequestUpdate, { args: [other] })).toEqual({
        holder: first.workflowId,
      });
      const state = await lock.query(lockStateQuery);
      expect(state.holder?.holder).toBe(first.workflowId);
      expect(state.queue.map((q) => q.holder)).toEqual(['someone-else']);
      await decide(client, first.workflowId, { env: 'staging', approved: true, by: 'carol' });
      expect((await waitFinished(client, first.workflowId)).status).toBe('succeeded');
      expect(signalled(await eventsOf(client, first.workflowId), 'lockGranted')).toEqual([]);
    });
  });
});
