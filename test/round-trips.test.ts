import { describe, expect, it } from '@jest/globals';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { decide, startPromotion, waitFinished, waitForApproval } from '../client/promotions.js';
import type { PromotionRequest } from '../common/types.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';

/**
 * Issue 21 item 2, fewer workflow round trips: a held environment's bump and diff are one activity
 * (`bump-and-diff`), and reads that change nothing (promote.yaml, the governance gate) run as local
 * activities inside the workflow task that asks (`local-reads`). What a promotion does must not change.
 */
const suite = useTemporal();

const HELD = [
  { name: 'dev', approval: 'auto' as const },
  { name: 'staging', approval: 'manual' as const, proposals: false },
];

interface HistoryEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  markerRecordedEventAttributes?: {
    markerName?: string;
    details?: Record<string, { payloads?: { data?: string }[] }>;
  };
}

/** The activities a run scheduled (activity tasks) and ran locally (markers), by type, in order. */
async function activitiesOf(client: Client, id: string): Promise<{ tasks: string[]; local: string[] }> {
  const history = await client.workflow.getHandle(id).fetchHistory();
  const events = (JSON.parse(historyToJSON(history)) as { events: HistoryEvent[] }).events;
  const tasks = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
  const local = events.flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') return [];
    const data = marker.details?.['data']?.payloads?.[0]?.data;
    // The marker's data names the activity (core's LocalActivityMarkerData, `activity_type`).
    const decoded = data
      ? (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { activity_type?: string })
      : {};
    return [decoded.activity_type ?? '?'];
  });
  return { tasks, local };
}

function request(repo: TestRepo, overrides: Partial<PromotionRequest> = {}): PromotionRequest {
  return { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }], requestedBy: 'test', ...overrides };
}

describe('a promotion in fewer round trips', () => {
  it('bumps and diffs each held environment in one activity and reads config and rules locally', async () => {
    const repo = await TestRepo.create({ environments: HELD });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const { workflowId: id } = await startPromotion(client, request(repo), { taskQueue });
      const waiting = await waitForApproval(client, id, 'staging');
      // The diff is there for the approver, made at the bump's commit, as before.
      const [dev, staging] = waiting.environments;
      expect(dev?.status).toBe('succeeded');
      expect(dev?.diff).toContain('+    tag: "1.5.0"');
      expect(staging?.diff).toContain('+    tag: "1.5.0"');
      expect(staging?.commit).toBe(await repo.head());
      await decide(client, id, { env: 'staging', approved: true, by: 'carol' });
      const final = await waitFinished(client, id);
      expect(final.environments.map((e) => e.status)).toEqual(['succeeded', 'succeeded']);
      expect(await repo.live('staging')).toContain('tag: "1.5.0"');

      const { tasks, local } = await activitiesOf(client, id);
      // One activity per bump and diff; `deploy` only applies; no activity task for a read.
      expect(tasks.filter((t) => t === 'bumpAndDiff')).toHaveLength(2);
      expect(tasks.filter((t) => t === 'deploy')).toHaveLength(2);
      expect(tasks).not.toContain('bumpValues');
      expect(tasks).not.toContain('loadPromotion');
      expect(tasks).not.toContain('governanceGate');
      // promote.yaml once; the gate before each environment and before each apply.
      expect(local).toEqual(['loadPromotion', ...Array<string>(4).fill('governanceGate')]);
    });
  });

  it('reverts the bump when the diff that follows it in the same activity fails', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    await repo.deployWithFailingDiff();
    const before = await repo.file('environments/dev.yaml');
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const { workflowId: id } = await startPromotion(client, request(repo), { taskQueue });
      const final = await waitFinished(client, id);
      expect(final.status).toBe('failed');
      const [dev] = final.environments;
      expect(dev?.status).toBe('reverted');
      expect(dev?.error).toMatch(/diff/);
      expect(dev?.revertCommit).toBe(await repo.head());
      // The bump landed and was reverted: the deployment branch holds the values it had, nothing applied.
      const subjects = (await repo.commits()).slice(0, 2).map((c) => c.subject);
      expect(subjects[1]).toBe('feat(dev): update api to 1.5.0');
      expect(await repo.file('environments/dev.yaml')).toBe(before);
      expect((await activitiesOf(client, id)).tasks).toContain('bumpAndDiff');
    });
  });

  it('diffs a forced environment whose values are already in Git inside the bump', async () => {
    const repo = await TestRepo.create({
      environments: [{ name: 'dev', approval: 'auto' }],
      apps: { api: '1.5.0', web: '2.0.3' },
    });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const skipped = await waitFinished(
        client,
        (await startPromotion(client, request(repo), { taskQueue })).workflowId,
      );
      expect(skipped.environments[0]?.status).toBe('skipped');
      expect(skipped.environments[0]?.diff).toBeUndefined();
      const { workflowId: id } = await startPromotion(client, request(repo, { force: true }), { taskQueue });
      const forced = await waitFinished(client, id);
      expect(forced.environments[0]?.status).toBe('succeeded');
      expect(forced.environments[0]?.diff).toBeDefined();
      const { tasks } = await activitiesOf(client, id);
      expect(tasks.filter((t) => t === 'deploy')).toHaveLength(1);
      expect(tasks.filter((t) => t === 'bumpAndDiff')).toHaveLength(1);
    });
  });
});
