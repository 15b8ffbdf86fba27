import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

interface JsonEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  activityTaskStartedEventAttributes?: { scheduledEventId?: string };
  activityTaskCompletedEventAttributes?: { scheduledEventId?: string };
  workflowTaskCompletedEventAttributes?: { scheduledEventId?: string };
}

/** Where one promotion's time went, from its own workflow history (milliseconds). */
export interface HistoryBreakdown {
  /** Workflow start → close, as the server recorded it. */
  workflowMs: number;
  startedAt: number;
  closedAt: number;
  /** Time activities spent running, by activity type. */
  activityMs: Record<string, number>;
  activityCount: number;
  /** Scheduled → picked up by the worker, summed over activities. */
  activityQueueMs: number;
  /** Workflow task scheduled → completed (worker round trips that run workflow code), summed. */
  workflowTaskMs: number;
  workflowTaskCount: number;
  updateCount: number;
}

const time = (e: JsonEvent) => Date.parse(e.eventTime);

export async function historyBreakdown(client: Client, id: string): Promise<HistoryBreakdown> {
  const history = await client.workflow.getHandle(id).fetchHistory();
  const events = (JSON.parse(historyToJSON(history)) as { events: JsonEvent[] }).events;
  const byId = new Map(events.map((e) => [e.eventId, e]));
  const activityMs: Record<string, number> = {};
  let activityQueueMs = 0;
  let workflowTaskMs = 0;
  let workflowTaskCount = 0;
  let activityCount = 0;
  let updateCount = 0;
  for (const event of events) {
    if (event.eventType === 'EVENT_TYPE_ACTIVITY_TASK_STARTED') {
      const scheduled = byId.get(event.activityTaskStartedEventAttributes?.scheduledEventId ?? '');
      if (scheduled) activityQueueMs += time(event) - time(scheduled);
    }
    if (event.eventType === 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED') {
      const scheduled = byId.get(event.activityTaskCompletedEventAttributes?.scheduledEventId ?? '');
      const started = events.find(
        (e) =>
          e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_STARTED' &&
          e.activityTaskStartedEventAttributes?.scheduledEventId === scheduled?.eventId,
      );
      const name = scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
      if (started) activityMs[name] = (activityMs[name] ?? 0) + time(event) - time(started);
      activityCount++;
    }
    if (event.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED') updateCount++;
    if (event.eventType === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED') {
      const scheduled = byId.get(event.workflowTaskCompletedEventAttributes?.scheduledEventId ?? '');
      if (scheduled) workflowTaskMs += time(event) - time(scheduled);
      workflowTaskCount++;
    }
  }
  const first = events[0];
  const last = events[events.length - 1];
  const startedAt = first ? time(first) : 0;
  const closedAt = last ? time(last) : 0;
  return {
    workflowMs: closedAt - startedAt,
    startedAt,
    closedAt,
    activityMs,
    activityCount,
    activityQueueMs,
    workflowTaskMs,
    workflowTaskCount,
    updateCount,
  };
}
