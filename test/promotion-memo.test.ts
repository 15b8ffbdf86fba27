import { describe, expect, it } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../activities/index.js';
import { RepositoryCache } from '../activities/repository.js';
import { waitForApproval } from '../client/promotions.js';
import { PromoteEnv } from '../common/search-attributes.js';
import { STAGING_HELD } from './support/environments.js';
import { TestRepo } from './support/repo.js';
import { promotionRequest, startTagPromotion } from './support/requests.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';

/**
 * A lock that starts without state (its first run, or one after a terminate) looks for its holder among
 * the environment's running promotions, and a new proposal for the older ones it supersedes. Those
 * scans list every running promotion of the environment, whatever its repository; each used to be
 * asked its state by query, so 200 promotions at once on 200 repositories cost 200 × 200 queries. A
 * promotion's memo names its repository: another repository's is passed over from the list alone.
 */
const suite = useTemporal();

/** A client that records the workflow id of every QueryWorkflow and GetWorkflowExecutionHistory it sends. */
async function countingClient(): Promise<{ client: Client; asked: (workflowId: string) => number }> {
  const sent: Buffer[] = [];
  const counting: Interceptor = (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      sendMessage(message: unknown, next: (message: unknown) => void) {
        const method = options.method_definition.path;
        if (/\/(QueryWorkflow|GetWorkflowExecutionHistory)$/.test(method))
          sent.push(Buffer.from(message as Uint8Array));
        next(message);
      },
    });
  const connection = await Connection.connect({ address: suite.temporal.address, interceptors: [counting] });
  return {
    client: new Client({ connection }),
    asked: (workflowId) => sent.filter((bytes) => bytes.includes(workflowId)).length,
  };
}

/** The lock and proposal activities, as the worker builds them, talking through `client`. */
async function scanningActivities(client: Client) {
  const cache = new RepositoryCache(await mkdtemp(join(tmpdir(), 'promote-memo-cache-')), {
    name: 'Promote',
    email: 'promote@localhost',
  });
  return createActivities({
    cache,
    notifier: { announce: () => Promise.resolve() },
    client,
    promotionStatus: () => Promise.resolve(undefined),
  });
}

/** Until visibility lists every one of `ids` as running in `env`. */
async function listedInEnvironment(ids: string[], env: string): Promise<void> {
  const query = `WorkflowType = 'promote' AND ExecutionStatus = 'Running' AND ${PromoteEnv.name} = '${env}'`;
  await eventually(`visibility to list ${ids.join(', ')} in ${env}`, async () => {
    const listed: string[] = [];
    for await (const execution of suite.temporal.client.workflow.list({ query }))
      listed.push(execution.workflowId);
    return ids.every((id) => listed.includes(id)) ? true : undefined;
  });
}

describe("a promotion's memo", () => {
  it("lets a scan pass over another repository's promotion without asking it, and still ask one started before the memo", async () => {
    const [mine, other, older] = await Promise.all(
      [0, 1, 2].map(() => TestRepo.create({ environments: [STAGING_HELD] })),
    );
    const client = suite.temporal.client;
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      // Another repository's promotion, started as `promote start` starts one: memo and all.
      const holder = await startTagPromotion(client, taskQueue, other!);
      // One started before promotions carried a memo: the same start without it.
      const legacy = await client.workflow.start('promote', {
        taskQueue,
        workflowId: `legacy-${Date.now()}`,
        args: [promotionRequest(older!, { apps: [{ app: 'web', tag: '2.0.0' }] })],
      });
      await waitForApproval(client, holder.workflowId, 'staging');
      await waitForApproval(client, legacy.workflowId, 'staging');
      await listedInEnvironment([holder.workflowId, legacy.workflowId], 'staging');

      const { client: counted, asked } = await countingClient();
      try {
        const activities = await scanningActivities(counted);
        const environment = new MockActivityEnvironment();
        // In an activity's context, as the worker runs them (they heartbeat).
        const inActivity = <T>(work: () => Promise<T>) => environment.run<[], T, () => Promise<T>>(work);
        const scan = { repo: mine!.url, env: 'staging' };
        expect(await inActivity(() => activities.findEnvironmentHolder(scan))).toBeUndefined();
        expect(await inActivity(() => activities.findEnvironmentHolders(scan))).toEqual({
          holders: [],
          unreadable: [],
          listed: [],
        });
        expect(
          await inActivity(() =>
            activities.supersedeProposals({
              ...scan,
              apps: ['api', 'web'],
              by: 'a-newer-promotion',
              byStartedAt: new Date().toISOString(),
            }),
          ),
        ).toEqual([]);
        expect(asked(holder.workflowId)).toBe(0);
        // Without a memo the scan cannot tell: it asks, as before (once per scan).
        expect(asked(legacy.workflowId)).toBeGreaterThanOrEqual(3);

        // The other repository's own scan still finds its holder through the memo.
        const found = await inActivity(() =>
          activities.findEnvironmentHolder({
            repo: other!.url,
            env: 'staging',
          }),
        );
        expect(found?.holder).toBe(holder.workflowId);
      } finally {
        await counted.connection.close();
        await Promise.all([holder.cancel(), legacy.cancel()]);
      }
    });
  }, 180_000);

  it('naming another repository than the request refuses the promotion before any work', async () => {
    const [repo, elsewhere] = await Promise.all([TestRepo.create(), TestRepo.create()]);
    const before = (await repo.commits()).length;
    const client = suite.temporal.client;
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const forged = await client.workflow.start('promote', {
        taskQueue,
        workflowId: `forged-memo-${Date.now()}`,
        args: [promotionRequest(repo)],
        memo: { promoteRepository: elsewhere.url },
      });
      const failure = await forged.result().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect(String((failure as WorkflowFailedError).cause?.message)).toContain(
        "memo promoteRepository names another repository than its request's repo",
      );
      const history = await forged.fetchHistory();
      expect(history.events?.some((e) => e.activityTaskScheduledEventAttributes)).toBe(false);
    });
    expect((await repo.commits()).length).toBe(before);
  }, 120_000);
});
