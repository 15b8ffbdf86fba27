import { describe, expect, it } from '@jest/globals';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeliveryReport } from '../client/report.js';
import { promoteCli } from './support/cli.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { envStatus, eventually } from './support/wait.js';

const suite = useTemporal();

/**
 * A scripted history on its own server (one per test file, so visibility holds nothing else): every
 * figure of `promote report --json` is known from what the script did.
 */
describe('promote report', () => {
  it('reports the figures of a scripted history of promotions', async () => {
    const repo = await TestRepo.create({
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'prod', approval: 'manual', proposals: false, approvers: ['alice'] },
      ],
    });
    let seen: DeliveryReport | undefined;
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const cli = (args: string[]) => promoteCli(args, { address: suite.temporal.address, taskQueue });
      /** Runs one promotion (or rollback) through prod's approval; returns its wall-clock bounds. */
      const script = async (start: string[], decision: string[], code: number) => {
        const before = Date.now();
        const started = await cli([...start, '--repo', repo.url, '--json']);
        expect(started.code).toBe(0);
        const { id } = JSON.parse(started.stdout) as { id: string };
        await envStatus(suite.temporal.client, id, 'prod', 'waiting-approval');
        expect((await cli([...decision.slice(0, 1), id, ...decision.slice(1)])).code).toBe(0);
        expect((await cli(['watch', id])).code).toBe(code);
        return Date.now() - before;
      };
      const approve = ['approve', '--env', 'prod', '--as', 'alice'];
      const runs: number[] = [];
      runs.push(await script(['start', '--app', 'api=1.5.0'], approve, 0)); // p1 succeeds
      runs.push(
        await script(
          ['start', '--app', 'api=1.6.0'],
          ['reject', '--env', 'prod', '--as', 'alice', '--reason', 'no'],
          1,
        ),
      ); // p2 rejected
      await repo.failApply('prod', 'cluster unreachable');
      const failedAt = Date.now();
      runs.push(await script(['start', '--app', 'api=1.7.0'], approve, 1)); // p3 fails, reverted
      await rm(join(repo.cluster, 'fail-apply-prod'));
      runs.push(await script(['start', '--app', 'api=1.8.0'], approve, 0)); // p4 succeeds: restores
      const restoredBy = Date.now();
      runs.push(await script(['rollback', '--env', 'prod', '--app', 'api'], approve, 0)); // r1 rolls p4 back

      // Visibility is eventually consistent: wait until all five runs are listed.
      const report = await eventually('the report to see five runs', async () => {
        const out = await cli(['report', '--since', '1d', '--json']);
        if (out.code !== 0) throw new Error(out.stderr);
        const r = JSON.parse(out.stdout) as DeliveryReport;
        return r.promotions + r.rollbacks === 5 ? r : undefined;
      });
      seen = report;
      expect(report).toMatchObject({ promotions: 4, rollbacks: 1, unreadable: 0 });
      expect(report.environments.map((e) => e.env)).toEqual(['dev', 'prod']);
      const [dev, prod] = report.environments;
      expect(dev).toMatchObject({
        deployments: 4,
        rollbacks: 0,
        changes: 4,
        failedChanges: 0,
        unrestored: 0,
      });
      expect(dev?.deploymentsPerDay).toBeCloseTo(4, 6);
      expect(dev?.approvalWait).toEqual({ count: 0 });
      // p1 and p4 applied prod; p3 was reverted; p4 was then rolled back; p2 never applied.
      expect(prod).toMatchObject({
        deployments: 2,
        rollbacks: 1,
        changes: 3,
        failedChanges: 2,
        unrestored: 0,
      });
      expect(prod?.changeFailureRate).toBeCloseTo(2 / 3, 9);
      expect(prod?.deploymentsPerDay).toBeCloseTo(2, 6);

      // Durations: bounded by what the script measured around each step.
      const longestRun = Math.max(...runs);
      expect(report.leadTime.count).toBe(2);
      for (const v of [report.leadTime.medianMs, report.leadTime.p90Ms]) {
        expect(v).toBeGreaterThan(0);
        expect(v).toBeLessThanOrEqual(longestRun);
      }
      expect(prod?.timeToRestore.count).toBe(1);
      expect(prod?.timeToRestore.medianMs).toBeGreaterThan(0);
      expect(prod?.timeToRestore.medianMs).toBeLessThanOrEqual(restoredBy - failedAt);
      // Five decisions in prod (four promotions, one rollback), each within its run.
      expect(prod?.approvalWait.count).toBe(5);
      expect(prod?.approvalWait.p90Ms).toBeGreaterThan(0);
      expect(prod?.approvalWait.p90Ms).toBeLessThanOrEqual(longestRun);

      // The table and the filters.
      const table = await cli(['report', '--env', 'prod']);
      expect(table.code).toBe(0);
      expect(table.stdout).toContain('67% (2/3)');
      expect(table.stdout).toContain('4 promotions, 1 rollbacks');
      expect(table.stdout).not.toMatch(/^dev /m);
      const bad = await cli(['report', '--since', 'yesterday']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('invalid --since "yesterday"');
    });

    // No worker runs now: closed runs are read from their results, so the figures are the same.
    const out = await promoteCli(['report', '--since', '1d', '--json'], { address: suite.temporal.address });
    expect(out.code).toBe(0);
    const alone = JSON.parse(out.stdout) as DeliveryReport;
    expect(alone).toMatchObject({ promotions: 4, rollbacks: 1, unreadable: 0 });
    expect(alone.leadTime).toEqual(seen?.leadTime);
    expect(alone.environments.map(({ deploymentsPerDay: _, ...rest }) => rest)).toEqual(
      seen?.environments.map(({ deploymentsPerDay: _, ...rest }) => rest),
    );
  });
});
