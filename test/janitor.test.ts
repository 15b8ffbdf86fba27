import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../server/tools.js';
import { git } from '../activities/git.js';
import { decide, startPromotion, waitFinished, waitForApproval } from '../client/promotions.js';
import type { JanitorResult } from '../workflows/janitor.js';
import { ensureJanitorSchedule, janitorScheduleId } from '../worker/janitor-schedule.js';
import { gitHubTestRepo } from './support/github-repo.js';
import type { GitHubStandIn } from './support/github-standin.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { DEV_AUTO_THEN_STAGING_MANUAL } from './support/environments.js';

const suite = useTemporal();

/** Two promotions of different apps waiting for approval in staging, each with its own proposal. */
async function twoProposals(repo: string, taskQueue: string): Promise<{ doomed: string; alive: string }> {
  const client = suite.temporal.client;
  const start = async (app: string, tag: string) => {
    const handle = await startPromotion(
      client,
      { repo, apps: [{ app, tag }], requestedBy: 'test' },
      { taskQueue },
    );
    await waitForApproval(client, handle.workflowId, 'staging');
    return handle.workflowId;
  };
  return { doomed: await start('api', '1.5.0'), alive: await start('web', '2.1.0') };
}

async function runningStatus(id: string): Promise<string> {
  return (await suite.temporal.client.workflow.getHandle(id).describe()).status.name;
}

describe('the janitor', () => {
  it('deletes a terminated promotion’s proposal branch on its schedule, never a running one’s or a branch not Promote’s', async () => {
    const repo = await TestRepo.create({
      environments: DEV_AUTO_THEN_STAGING_MANUAL,
    });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const { doomed, alive } = await twoProposals(repo.url, taskQueue);
      // Someone's own branch under the same pattern: no Promote trailers, so never the janitor's.
      await git(['update-ref', 'refs/heads/promote/staging/by-hand', 'refs/heads/main'], { cwd: repo.url });
      await client.workflow.getHandle(doomed).terminate('operator terminated it mid-proposal');

      // Idempotent: every worker start creates or updates the same schedule.
      expect(await ensureJanitorSchedule(client, { taskQueue, intervalMs: 60_000 })).toBe('created');
      expect(await ensureJanitorSchedule(client, { taskQueue, intervalMs: 1_000 })).toBe('updated');
      const schedule = client.schedule.getHandle(janitorScheduleId(taskQueue));
      try {
        const described = await schedule.describe();
        expect(described.spec.intervals?.map((i) => i.every)).toEqual([1_000]);
        await eventually(
          'the janitor to delete the terminated promotion’s proposal branch',
          async () => ((await repo.branches()).includes(`promote/staging/${doomed}`) ? undefined : true),
          120_000,
          250,
        );
      } finally {
        await schedule.delete();
      }
      expect(await repo.branches()).toEqual(
        expect.arrayContaining(['main', `promote/staging/${alive}`, 'promote/staging/by-hand']),
      );
      expect(await runningStatus(alive)).toBe('RUNNING');
      // The running promotion still lands: its proposal is intact.
      await decide(client, alive, { env: 'staging', approved: true, by: 'alice' });
      expect((await waitFinished(client, alive)).status).toBe('succeeded');
    });
  });

  it('closes a terminated promotion’s pull request with the reason and deletes its branch on GitHub; a running one’s stays open', async () => {
    let github: GitHubStandIn | undefined;
    try {
      const made = await gitHubTestRepo();
      github = made.github;
      const { repo, spec, factory } = made;
      await suite.temporal.withWorker(
        async ({ taskQueue }) => {
          const client = suite.temporal.client;
          const { doomed, alive } = await twoProposals(spec, taskQueue);
          const pullOf = (id: string) =>
            [...made.github.pulls.values()].find((p) => p.head.endsWith(`/${id}`));
          await client.workflow.getHandle(doomed).terminate('operator terminated it mid-proposal');
          // One tick, run directly: visibility may show the close a moment late, so ticks repeat.
          const result = await eventually(
            'a janitor tick to drop the terminated promotion’s proposal',
            async () => {
              const tick = await client.workflow.execute<() => Promise<JanitorResult>>('promoteJanitor', {
                taskQueue,
                workflowId: `janitor-test-${doomed}`,
                args: [],
                workflowIdConflictPolicy: 'USE_EXISTING',
                workflowIdReusePolicy: 'ALLOW_DUPLICATE',
              });
              return tick.dropped > 0 ? tick : undefined;
            },
            120_000,
            250,
          );
          expect(result).toMatchObject({ dropped: 1, retry: [] });
          expect(pullOf(doomed)).toMatchObject({ state: 'closed', merged: false });
          expect(pullOf(doomed)?.comments.join('\n')).toContain(
            `Closed by Promote's janitor: promotion \`${doomed}\``,
          );
          expect(pullOf(doomed)?.comments.join('\n')).toContain('terminated');
          expect(pullOf(alive)).toMatchObject({ state: 'open' });
          expect(await repo.branches()).toEqual(expect.arrayContaining([`promote/staging/${alive}`]));
          expect(await repo.branches()).not.toContain(`promote/staging/${doomed}`);
          expect(await runningStatus(alive)).toBe('RUNNING');
          await decide(client, alive, { env: 'staging', approved: true, by: 'alice' });
          expect((await waitFinished(client, alive)).status).toBe('succeeded');
          expect(pullOf(alive)).toMatchObject({ state: 'closed', merged: true });
        },
        { github: factory },
      );
    } finally {
      await github?.stop();
    }
  });
});

describe('promote worker with a bad PROMOTE_JANITOR_INTERVAL_MS', () => {
  it.each(['soon', '0'])('%j is refused before anything starts (exit 2)', async (value) => {
    const taskQueue = `never-polled-janitor-${process.pid}`;
    const result = await execa(process.execPath, [join(PROJECT_ROOT, 'bin', 'promote.js'), 'worker'], {
      env: {
        TEMPORAL_ADDRESS: suite.temporal.address,
        PROMOTE_TASK_QUEUE: taskQueue,
        PROMOTE_JANITOR_INTERVAL_MS: value,
      },
      reject: false,
      timeout: 60_000,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      `PROMOTE_JANITOR_INTERVAL_MS must be a positive whole number of milliseconds, not "${value}"`,
    );
    expect(result.stdout + result.stderr).not.toContain('worker polling');
    // Nothing changed: no schedule was created.
    await expect(
      suite.temporal.client.schedule.getHandle(janitorScheduleId(taskQueue)).describe(),
    ).rejects.toThrow();
  });
});
