import { describe, expect, it } from '@jest/globals';
import { waitFinished } from '../../client/promotions.js';
import { blobBytes, commitLargeValues, differingLines } from '../support/large-data.js';
import { TestRepo } from '../support/repo.js';
import { useTemporal } from '../support/suite.js';
import { startTagPromotion } from '../support/requests.js';

const suite = useTemporal();

describe('no silent truncation: a promotion through a values file of more than 1 MB', () => {
  it('commits and deploys the whole file, multi-byte text intact, with only the tag line changed', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    const file = 'environments/dev.yaml';
    const { original } = await commitLargeValues(repo, file, 'chore: the full chart values');
    expect(original.length).toBeGreaterThan(1024 * 1024);

    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const handle = await startTagPromotion(suite.temporal.client, taskQueue, repo.url, {
        requestedBy: 'test',
      });
      const final = await waitFinished(suite.temporal.client, handle.workflowId);
      expect({ status: final.status, error: final.error }).toEqual({ status: 'succeeded', error: undefined });

      const commit = final.environments[0]?.commit ?? '';
      const committed = await blobBytes(repo.url, commit, file);
      // Every byte but the tag line survives: same length give or take the tag, same lines otherwise.
      expect(differingLines(original, committed)).toEqual([
        expect.objectContaining({ before: '    tag: "1.4.0"', after: '    tag: "1.5.0"' }),
      ]);
      expect(committed.length).toBe(original.length);
      // The deploy saw the same bytes: the checkout at the bump commit is whole too.
      expect(Buffer.from((await repo.live('dev')) ?? '')).toEqual(committed);
    });
  }, 900_000); // a megabyte of YAML is parsed several times per bump: slow on a busy machine
});
