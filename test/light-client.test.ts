import { describe, expect, it } from '@jest/globals';
import { createRequire } from 'node:module';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { decideLight, lightClient, startLight, statusLight } from '../client/light.js';
import { promotionSummary, startPromotion, waitForApproval } from '../client/promotions.js';
import { DESCRIPTORS } from '../client/wire/descriptor.js';
import { reducedDescriptors, sdkRoot } from '../client/wire/generate-descriptor.js';
import type { PromotionRequest, PromotionState } from '../common/types.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';

const suite = useTemporal();

type Payload = temporal.api.common.v1.IPayload;

/** A payload's metadata as text: what tells a worker how to read it. */
function metadataOf(payload: Payload | null | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(payload?.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString()]),
  );
}

/** The start event of a promotion, as the worker's history holds it. */
async function startedEvent(id: string) {
  const history = await suite.temporal.client.workflow.getHandle(id).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started) throw new Error(`no start event for ${id}`);
  return started;
}

/** Runs `fn` with the CLI's connection and task queue settings pointing at this suite's server. */
async function withCliEnv<T>(taskQueue: string, fn: () => Promise<T>): Promise<T> {
  const saved = { address: process.env.TEMPORAL_ADDRESS, queue: process.env.PROMOTE_TASK_QUEUE };
  process.env.TEMPORAL_ADDRESS = suite.temporal.address;
  process.env.PROMOTE_TASK_QUEUE = taskQueue;
  try {
    return await fn();
  } finally {
    for (const [name, value] of [
      ['TEMPORAL_ADDRESS', saved.address],
      ['PROMOTE_TASK_QUEUE', saved.queue],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('the CLI light path', () => {
  it('carries the installed SDK’s own descriptor and client version', () => {
    // Regenerate with `node dist/client/wire/generate-descriptor.js` when @temporalio/proto changes.
    expect(DESCRIPTORS).toEqual(reducedDescriptors(sdkRoot()));
    const { version } = createRequire(import.meta.url)('@temporalio/client/package.json') as {
      version: string;
    };
    expect(version).toBe('1.24.0');
  });

  it('starts a promotion the worker reads exactly as one the SDK client starts, and decides it', async () => {
    const repo = await TestRepo.create();
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      await withCliEnv(taskQueue, async () => {
        const light = await lightClient();
        if (!light) throw new Error('the light path refused a plain local server');
        const request: PromotionRequest = {
          repo: repo.url,
          apps: [
            {
              app: 'api',
              tag: '1.6.0',
              source: { repo: 'https://git.example.com/shop/api', ref: 'a1b2c3d' },
            },
          ],
          to: 'staging',
          requestedBy: 'carol',
        };
        const id = await startLight(light, request);
        if (!id) throw new Error('the light path did not start the promotion');

        // What the worker reads: the request itself, and the same encodings the SDK client writes.
        const viaSdk = await startPromotion(
          suite.temporal.client,
          { ...request, apps: [{ app: 'web', tag: '9.9.9' }] },
          {
            taskQueue,
          },
        );
        const [light_, sdk] = [await startedEvent(id), await startedEvent(viaSdk.workflowId)];
        await viaSdk.cancel();
        const input = light_.input?.payloads?.[0];
        expect(defaultPayloadConverter.fromPayload(input as never)).toEqual(request);
        expect(metadataOf(input)).toEqual(metadataOf(sdk.input?.payloads?.[0]));
        const apps = light_.searchAttributes?.indexedFields?.PromoteApps;
        expect(defaultPayloadConverter.fromPayload(apps as never)).toEqual(['api', 'api=1.6.0']);
        expect(metadataOf(apps)).toEqual(metadataOf(sdk.searchAttributes?.indexedFields?.PromoteApps));
        const description = await suite.temporal.client.workflow.getHandle(id).describe();
        expect(await description.staticSummary()).toBe(promotionSummary(request));
        // Both paths name the repository in the memo, which scans of running promotions read.
        const sdkMemo = (await suite.temporal.client.workflow.getHandle(viaSdk.workflowId).describe()).memo;
        expect(description.memo).toEqual({ promoteRepository: repo.url });
        expect(sdkMemo).toEqual(description.memo);
        expect(light_.taskQueue).toEqual(sdk.taskQueue);

        // The decision through the light path; the promotion runs on to the end.
        await waitForApproval(suite.temporal.client, id, 'staging');
        expect((await statusLight(light, id))?.environments.find((e) => e.name === 'staging')?.status).toBe(
          'waiting-approval',
        );
        await expect(decideLight(light, id, { env: 'staging', approved: true, by: 'carol' })).rejects.toThrow(
          /carol/,
        );
        const decision = await decideLight(light, id, { env: 'staging', approved: true, by: 'bob' });
        expect(decision?.by).toBe('bob');
        const state = (await suite.temporal.client.workflow.getHandle(id).result()) as PromotionState;
        expect(state.status).toBe('succeeded');
        expect(state.environments.map((e) => [e.name, e.status, e.tag])).toEqual([
          ['dev', 'succeeded', '1.6.0'],
          ['staging', 'succeeded', '1.6.0'],
        ]);
        // A closed run is the SDK path's to read.
        expect(await statusLight(light, id)).toBeUndefined();
        light.close();
      });
    });
  });
});
