import { describe, expect, it } from '@jest/globals';
import { waitFinished } from '../client/promotions.js';
import { promoteCli } from './support/cli.js';
import { devSoaksAnHourRepo } from './support/environments.js';
import { useTemporal } from './support/suite.js';
import { envStatus } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';

const suite = useTemporal();

describe('soak time (issue 22, item 2)', () => {
  it('stops the promotion when the soaking environment is rolled back', async () => {
    const repo = await devSoaksAnHourRepo();
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const handle = await startTagPromotion(client, taskQueue, repo);
      await envStatus(client, handle.workflowId, 'dev', 'soaking');
      const rollback = await promoteCli(
        ['rollback', '--repo', repo.url, '--env', 'dev', '--app', 'api', '--wait'],
        {
          address: suite.temporal.address,
          taskQueue,
        },
      );
      expect(rollback.code).toBe(0);
      expect(rollback.stderr).toContain(`stopping ${handle.workflowId}: its soak in dev failed`);
      const final = await waitFinished(client, handle.workflowId);
      expect(final.status).toBe('failed');
      expect(final.environments.map((e) => e.status)).toEqual(['failed', 'pending']);
      expect(final.error).toBe('dev: soak failed: api rolled back in dev');
      expect(await repo.live('staging')).toContain('tag: "1.4.0"');
    });
  });
});
