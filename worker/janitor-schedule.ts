import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsAction,
} from '@temporalio/client';

/** How often the janitor runs unless PROMOTE_JANITOR_INTERVAL_MS says otherwise. */
export const DEFAULT_JANITOR_INTERVAL_MS = 5 * 60_000;

/** One schedule per task queue: its janitor cleans after the promotions that queue's workers ran. */
export function janitorScheduleId(taskQueue: string): string {
  return `promote-janitor-${taskQueue}`;
}

/**
 * PROMOTE_JANITOR_INTERVAL_MS: a positive whole number of milliseconds (default 5 minutes). Read
 * before the worker starts, so a bad value stops it with a clear message.
 */
export function janitorIntervalFromEnv(raw = process.env.PROMOTE_JANITOR_INTERVAL_MS): number {
  if (raw === undefined || raw === '') return DEFAULT_JANITOR_INTERVAL_MS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(
      `PROMOTE_JANITOR_INTERVAL_MS must be a positive whole number of milliseconds, not ${JSON.stringify(raw)}`,
    );
  return value;
}

function action(taskQueue: string): ScheduleOptionsAction {
  return {
    type: 'startWorkflow',
    workflowType: 'promoteJanitor',
    workflowId: janitorScheduleId(taskQueue),
    taskQueue,
    args: [{}],
    // A tick nobody served (every worker down) gives way to the next one rather than piling up.
    workflowExecutionTimeout: '1 hour',
  };
}

/**
 * Creates the task queue's janitor schedule, or brings an existing one to this interval: every worker
 * does this when it starts, so it is idempotent and the last worker started sets the interval (a
 * schedule an operator paused stays paused). One
 * janitor at a time (SKIP), no catch-up of ticks missed while the server was down (the next one looks
 * back to where the last finished).
 */
export async function ensureJanitorSchedule(
  client: Client,
  options: { taskQueue: string; intervalMs: number },
): Promise<'created' | 'updated'> {
  const spec = { intervals: [{ every: options.intervalMs }] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' } as const;
  const scheduleId = janitorScheduleId(options.taskQueue);
  try {
    await client.schedule.create({ scheduleId, spec, action: action(options.taskQueue), policies });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({
    ...previous,
    spec,
    action: action(options.taskQueue),
    policies: { ...previous.policies, ...policies },
  }));
  return 'updated';
}
