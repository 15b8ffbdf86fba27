import { describe, expect, it } from '@jest/globals';
import { waitAccepted, waitForApproval, decide } from '../client/promotions.js';
import { watchPromotion, type ProgressOutput } from '../client/watch.js';
import { formatElapsed } from '../client/progress.js';
import { freePort } from '../server/ports.js';
import { promoteCli } from './support/cli.js';
import { RunningCli } from './support/cli-stream.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { startTagPromotion } from './support/requests.js';

const suite = useTemporal();

const TWO_ENVS = {
  environments: [
    { name: 'dev', approval: 'auto' as const },
    { name: 'staging', approval: 'manual' as const },
  ],
};

describe('promote watch', () => {
  it('appends plain progress lines in CI, names the approve command, and exits with the outcome', async () => {
    const repo = await TestRepo.create(TWO_ENVS);
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const opts = { address: suite.temporal.address, taskQueue };
      const started = await promoteCli(['start', '--repo', repo.url, '--app', 'api=1.5.0', '--json'], opts);
      expect(started.code).toBe(0);
      const { id } = JSON.parse(started.stdout) as { id: string };

      const watch = new RunningCli(['watch', id], opts);
      const hint = `approve: promote approve ${id} --env staging`;
      await watch.printed(hint);
      expect(watch.stdout).toMatch(/\[\d\d:\d\d:\d\d\] ✓ dev\s+succeeded\s+\d+s\s+1\.4\.0 → 1\.5\.0/);

      expect((await promoteCli(['approve', id, '--env', 'staging', '--as', 'carol'], opts)).code).toBe(0);
      const result = await watch.done;
      expect(result.code).toBe(0);
      // Plain lines only: no cursor movement in a CI log.
      expect(result.stdout).not.toContain('\x1b[');
      expect(result.stdout).toContain(`${id}: succeeded`);
      expect(result.stdout).toMatch(/staging\s+succeeded.*approved by carol/);
      // Each environment's line is printed again only when it changes, not at every poll.
      const waitingLines = result.stdout.split('\n').filter((l) => l.includes(hint));
      expect(waitingLines).toHaveLength(1);
    });
  });

  it('start --wait follows the promotion live and exits 1 when it is rejected', async () => {
    const repo = await TestRepo.create(TWO_ENVS);
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const opts = { address: suite.temporal.address, taskQueue };
      const run = new RunningCli(['start', '--repo', repo.url, '--app', 'web=3.1.0', '--wait'], opts);
      await run.printed('--env staging');
      const id = /^\[[\d:]+\] (\S+): /m.exec(run.stdout)?.[1] ?? '';
      expect(id).toMatch(/^promote-web-3\.1\.0-/);
      await promoteCli(['reject', id, '--env', 'staging', '--as', 'bob', '--reason', 'freeze'], opts);
      const result = await run.done;
      expect(result.code).toBe(1);
      // While it waited, watch showed where the proposal is; rejected, it never reached the branch.
      expect(result.stdout).toMatch(
        /staging\s+waiting-approval.*--commit [0-9a-f]{12}.*proposal branch promote\/staging\//,
      );
      expect(result.stdout).toMatch(/staging\s+rejected.*rejected by bob/);
      expect(result.stdout).not.toContain('reverted in');
      expect(result.stdout).toContain(`${id}: rejected`);
    });
  });

  it('redraws in place on a terminal, and streams JSON states with --json', async () => {
    const repo = await TestRepo.create(TWO_ENVS);
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const client = suite.temporal.client;
      const handle = await startTagPromotion(client, taskQueue, repo, { tag: '1.7.0' });
      await waitAccepted(client, handle.workflowId);
      const chunks: string[] = [];
      const tty: ProgressOutput = { isTTY: true, columns: 200, write: (t: string) => chunks.push(t) };
      const json: string[] = [];
      const ndjson: ProgressOutput = { write: (t: string) => json.push(t) };
      const watching = watchPromotion(client, handle.workflowId, { out: tty, intervalMs: 100 });
      const streaming = watchPromotion(client, handle.workflowId, {
        out: ndjson,
        json: true,
        intervalMs: 100,
      });
      await waitForApproval(client, handle.workflowId, 'staging');
      await decide(client, handle.workflowId, { env: 'staging', approved: true, by: 'alice' });
      const [final] = await Promise.all([watching, streaming]);
      expect(final.status).toBe('succeeded');

      // After the first frame, each frame moves the cursor back over the previous one and clears below.
      expect(chunks.length).toBeGreaterThan(1);
      const header = chunks[0]?.split('\n').length ?? 0;
      expect(chunks[1]?.startsWith(`\x1b[${header - 1}A\r\x1b[J`)).toBe(true);
      expect(chunks.at(-1)).toMatch(/staging\s+succeeded/);

      const states = json
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { status: string });
      expect(states.length).toBeGreaterThan(1);
      expect(states.at(-1)?.status).toBe('succeeded');
      expect(new Set(json).size).toBe(json.length);
    });
  });
});

describe('errors say what to do', () => {
  it('names the address tried, `promote dev` and TEMPORAL_ADDRESS when no server listens', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const result = await promoteCli(['status', 'promote-api-1.0.0-00000000'], { address });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach the Temporal server at ${address}`);
    expect(result.stderr).toContain('promote dev');
    expect(result.stderr).toContain('TEMPORAL_ADDRESS');
  });

  it('points an unknown id to `promote list`', async () => {
    for (const args of [
      ['status', 'nope'],
      ['watch', 'nope'],
    ]) {
      const result = await promoteCli(args, { address: suite.temporal.address });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('no promotion with id nope: `promote list` shows recent ones');
    }
  });

  it('names the known apps when a filter matches none', async () => {
    const repo = await TestRepo.create(TWO_ENVS);
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const opts = { address: suite.temporal.address, taskQueue };
      expect((await promoteCli(['start', '--repo', repo.url, '--app', 'api=1.9.0'], opts)).code).toBe(0);
      const result = await promoteCli(['list', '--app', 'apii'], opts);
      expect(result.stdout).toMatch(/no promotions of app "apii"; known apps: .*api/);
    });
  });

  it('formats elapsed times briefly', () => {
    expect([5_000, 65_000, 3_725_000, 3 * 86_400_000].map(formatElapsed)).toEqual([
      '5s',
      '1m05s',
      '1h02m',
      '3d00h',
    ]);
  });
});
