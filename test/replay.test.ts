import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { PROJECT_ROOT } from '../server/tools.js';
import { WORKFLOWS_PATH } from '../worker/create-worker.js';
import {
  historyFiles,
  HISTORIES_DIR,
  MANIFEST_PATH,
  parseManifest,
  readManifest,
  sha256,
} from './support/history-manifest.js';

/**
 * The determinism guard: histories of real runs (see test/support/record-histories.ts) must replay
 * against today's workflow code. A failure here means the change would break promotions in flight:
 * guard it with `patched()` or roll it out on a new worker deployment version (see the README).
 */
const dir = HISTORIES_DIR;
const files = historyFiles();
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
        'promote-waiting-for-approval.json',
        'promote-decided-by-signal.json',
        'promote-approval-timed-out.json',
        'promote-rollback.json',
        'promote-only.json',
        'promote-cancelled-while-queued.json',
        'promote-cancelled-during-apply.json',
        'environment-lock-continued-as-new.json',
        'environment-lock-after-continue-as-new.json',
        'promote-janitor-dropped-proposal.json',
      ]),
    );
  });

  // A history does not contain its workflow id: the manifest keeps it for runs recorded since it does
  // (code may read it: a signed approval's statement names its promotion); older ones replay as 'fake'.
  const workflowIds = new Map(readManifest().histories.map((e) => [e.file, e.workflowId]));

  it.each(files)('%s replays without nondeterminism', async (file) => {
    const history: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const options = { workflowBundle: bundle, replayName: file };
    await Worker.runReplayHistory(options, history, workflowIds.get(file));
  });
});

describe('the history manifest (histories are append-only)', () => {
  const manifest = readManifest();

  it.each(manifest.histories.map((e) => [e.file, e.sha256]))(
    '%s is still there, byte for byte',
    (file, hash) => {
      expect(files).toContain(file);
      expect(sha256(readFileSync(join(dir, file)))).toBe(hash);
    },
  );

  it('lists every history file (record new ones with `npm run histories:record`)', () => {
    expect(files.filter((f) => !manifest.histories.some((e) => e.file === f))).toEqual([]);
  });

  it('keeps every entry any committed version of it had', async () => {
    const path = relative(PROJECT_ROOT, MANIFEST_PATH);
    const log = await execa('git', ['log', '--format=%H', '--', path], { cwd: PROJECT_ROOT });
    const commits = log.stdout.split('\n').filter(Boolean);
    const current = new Map(manifest.histories.map((e) => [e.file, e.sha256]));
    const lost: string[] = [];
    for (const commit of commits) {
      const shown = await execa('git', ['show', `${commit}:${path}`], { cwd: PROJECT_ROOT });
      for (const entry of parseManifest(shown.stdout).histories) {
        if (current.get(entry.file) !== entry.sha256)
          lost.push(`${entry.file} (as of ${commit.slice(0, 12)})`);
      }
    }
    expect(lost).toEqual([]);
  });
});
