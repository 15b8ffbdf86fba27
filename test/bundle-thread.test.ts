import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { bundleInThread } from '../worker/bundle-thread.js';
import { bundledSource, WORKFLOWS_PATH } from '../worker/bundle.js';

// A worker without a pre-built bundle bundles at start-up; webpack runs in a thread of its own so that
// its memory leaves with the thread instead of staying in the worker's resident set (docs/performance.md).
describe('bundling the workflow code in a thread of its own', () => {
  it('hands back the bundle of every workflow', async () => {
    const code = await bundleInThread({
      workflowsPath: WORKFLOWS_PATH,
      workflowInterceptorModules: [],
      preloadModules: [WORKFLOWS_PATH],
    });
    expect(code).toContain('importWorkflows');
    // The workflow modules are evaluated once and shared by every cached workflow (worker/bundle.ts).
    expect(code).toMatch(
      /function preloadModules\(\) \{\s*__webpack_require__\([^)]*"\.\/dist\/workflows\/index\.js"\)/,
    );
    for (const workflow of ['promote', 'environmentLock', 'overview', 'promoteJanitor', 'governance'])
      expect(code).toMatch(new RegExp(`function ${workflow}\\b`));
    // What a worker without a pre-built bundle is started from.
    expect(await bundledSource({ workflowsPath: WORKFLOWS_PATH })).toEqual({ workflowBundle: { code } });
  });

  it('fails with the bundler’s reason when the workflow code cannot be bundled', async () => {
    const missing = join(tmpdir(), `promote-no-workflows-${process.pid}`, 'index.js');
    await expect(
      bundleInThread({ workflowsPath: missing, workflowInterceptorModules: [], preloadModules: [] }),
    ).rejects.toThrow(/bundling the workflow code failed: .*promote-no-workflows/);
  });
});
