import { beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { PROJECT_ROOT } from '../server/tools.js';
import { WORKFLOWS_PATH } from '../worker/create-worker.js';

/**
 * The determinism guard: histories of real runs (see test/support/record-histories.ts) must replay
 * against today's workflow code. A failure here means the change would break promotions in flight:
 * guard it with `patched()` or roll it out on a new worker deployment version (see the README).
 */
const dir = join(PROJECT_ROOT, 'test', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('ERROR') });
});

describe('saved workflow histories', () => {
  it('are there to replay', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'promote-happy-path.json',
        'promote-rejected.json',
        'promote-failed-apply-compensated.json',
        'promote-cancelled-while-waiting.json',
        'promote-superseded.json',
        'promote-resumed-after-worker-kill.json',
        'environment-lock.json',
        'environment-lock-abandoned-holder.json',
      ]),
    );
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    const history: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: bundle, replayName: file }, history);
  });
});
