import { beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { PROJECT_ROOT } from '../server/tools.js';
import { workflowBundleOptions } from '../worker/bundle.js';
import {
  historyFiles,
  HISTORIES_DIR,
  ENTRIES_DIR,
  MANIFEST_PATH,
  parseEntry,
  parseManifest,
  patchMarkers,
  readManifest,
  retirementProblem,
  sha256,
} from './support/history-manifest.js';

/**
 * The determinism guard: histories of real runs (see test/support/record-histories.ts) must replay
 * against today's workflow code. A failure here means the change would break promotions in flight:
 * guard it with `patched()` or roll it out on a new worker deployment version (see the README).
 */
const dir = HISTORIES_DIR;
const files = historyFiles();
const manifest = readManifest();
let bundle: WorkflowBundleWithSourceMap;

/** Whether workflow code still asks `patched(id)`: its id is still named outside a `deprecatePatch(…)`. */
function stillPatched(id: string): boolean {
  const sources = join(PROJECT_ROOT, 'workflows');
  return readdirSync(sources)
    .filter((name) => name.endsWith('.ts'))
    .map((name) =>
      readFileSync(join(sources, name), 'utf8').replace(/deprecatePatch\(\s*(['"]).*?\1\s*\)/g, ''),
    )
    .some((text) => text.includes(`'${id}'`) || text.includes(`"${id}"`));
}

const retiredOf = (file: string) => manifest.retired.find((r) => r.file === file);
const replayed = files.map((file) => {
  const retired = retiredOf(file);
  return [file, retired ? ` (retired for ${retired.patch}: may diverge, nothing else)` : ''] as const;
});

beforeAll(async () => {
  bundle = await bundleWorkflowCode({ ...workflowBundleOptions(), logger: new DefaultLogger('ERROR') });
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

  it.each(replayed)('%s replays without nondeterminism%s', async (file) => {
    const history: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const retired = retiredOf(file);
    if (!retired) {
      await Worker.runReplayHistory(
        { workflowBundle: bundle, replayName: file },
        history,
        workflowIds.get(file),
      );
      return;
    }
    // Retired: replayed all the same. Only the divergence its retirement names is let through: a
    // nondeterminism error, once its patch's old branch is gone. Anything else still fails here.
    const failure = await Worker.runReplayHistory(
      { workflowBundle: bundle, replayName: file },
      history,
      workflowIds.get(file),
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (failure === undefined) return;
    expect(failure instanceof Error ? failure.name : typeof failure).toBe('DeterminismViolationError');
    expect({ patch: retired.patch, stillPatched: stillPatched(retired.patch) }).toEqual({
      patch: retired.patch,
      stillPatched: false,
    });
  });
});

describe('the history manifest (histories are append-only)', () => {
  const markersOf = (name: string) =>
    files.includes(name) ? patchMarkers(JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown) : [];

  // No history is retired yet (see docs/changing-the-workflow.md): each one listed would be checked here.
  for (const entry of manifest.retired) {
    it(`${entry.file} is retired with a patch, a reason, its last commit and a replacement`, () => {
      expect(retirementProblem(entry, manifest, markersOf)).toBeUndefined();
    });
  }

  it('refuses a retirement that could hide a break', () => {
    const entry = {
      file: 'promote-happy-path.json',
      patch: 'run-scoped-saga',
      reason: 'no run started before run-scoped-saga is left',
      lastReplayedAt: 'bc0c943',
      replacedBy: 'promote-holder-reasserts.json',
    };
    expect(markersOf('promote-holder-reasserts.json')).toContain('run-scoped-saga');
    expect(retirementProblem(entry, manifest, markersOf)).toBeUndefined();
    // Recorded with the marker: deprecatePatch keeps it replaying, so retiring it could only hide a break.
    const withMarker = { ...entry, file: 'promote-proposal-approved.json' };
    expect(retirementProblem(withMarker, manifest, markersOf)).toMatch(/has the run-scoped-saga marker/);
    // The scenario must stay replayed by a history recorded with the patch.
    const noReplacement = { ...entry, replacedBy: 'promote-rejected.json' };
    expect(retirementProblem(noReplacement, manifest, markersOf)).toMatch(/must have been recorded with/);
    expect(retirementProblem({ ...entry, reason: ' ' }, manifest, markersOf)).toMatch(/patch and reason/);
    expect(retirementProblem({ ...entry, lastReplayedAt: 'HEAD' }, manifest, markersOf)).toMatch(
      /lastReplayedAt/,
    );
  });

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
    const retirements = new Set(manifest.retired.map((r) => JSON.stringify(r)));
    const lost: string[] = [];
    for (const commit of commits) {
      const shown = await execa('git', ['show', `${commit}:${path}`], { cwd: PROJECT_ROOT });
      const then = parseManifest(shown.stdout);
      for (const entry of then.histories) {
        if (current.get(entry.file) !== entry.sha256)
          lost.push(`${entry.file} (as of ${commit.slice(0, 12)})`);
      }
      // A retirement is append-only too: never quietly taken back or reworded.
      for (const entry of then.retired) {
        if (!retirements.has(JSON.stringify(entry)))
          lost.push(`retirement of ${entry.file} (as of ${commit.slice(0, 12)})`);
      }
    }
    expect(lost).toEqual([]);
  });

  it('keeps every entry file of manifest.d any commit had, unchanged', async () => {
    const path = relative(PROJECT_ROOT, ENTRIES_DIR);
    const log = await execa('git', ['log', '--format=%H', '--name-only', '--', path], { cwd: PROJECT_ROOT });
    const current = new Map(manifest.histories.map((e) => [e.file, e.sha256]));
    const lost: string[] = [];
    let commit = '';
    for (const line of log.stdout.split('\n').filter(Boolean)) {
      if (/^[0-9a-f]{40}$/.test(line)) {
        commit = line;
        continue;
      }
      const shown = await execa('git', ['show', `${commit}:${line}`], { cwd: PROJECT_ROOT, reject: false });
      if (shown.exitCode !== 0) continue; // the commit that deleted it: the current check below says so
      const entry = parseEntry(shown.stdout, line.split('/').pop() ?? line);
      if (current.get(entry.file) !== entry.sha256) lost.push(`${line} (as of ${commit.slice(0, 12)})`);
    }
    expect(lost).toEqual([]);
  });
});
