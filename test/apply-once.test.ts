import { describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFinished } from '../client/promotions.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';

/**
 * One apply at a time, even across attempts: a worker whose event loop stalls for a while (a starved
 * machine, or a synchronous child process such as the `execFileSync` the helm deployer once used)
 * sends no heartbeats meanwhile. That must not make Temporal start a second attempt of the apply
 * while the first one's command still runs.
 */
const suite = useTemporal();

/** Blocks this process's event loop, and so the in-process worker's heartbeats, for `ms`. */
function stallEventLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('a worker stalled mid-apply for 15 s', () => {
  it('keeps its one apply: no second attempt starts while the first still runs', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    // Long enough to still run after the stall; the sample deploy script logs start, done (or terminated).
    await writeFile(join(repo.cluster, 'slow-apply'), '25');
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const handle = await startTagPromotion(suite.temporal.client, taskQueue, repo);
      await eventually('the apply to start', async () =>
        (await repo.deployLog()).some((l) => / start dev /.test(l)) ? true : undefined,
      );
      stallEventLoop(15_000);
      const final = await waitFinished(suite.temporal.client, handle.workflowId);
      expect(final.status).toBe('succeeded');
      const applies = (await repo.deployLog()).map((l) => l.split(' ').slice(1, 3).join(' '));
      expect(applies).toEqual(['start dev', 'done dev']);
    });
  });
});
