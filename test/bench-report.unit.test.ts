import { describe, expect, it } from '@jest/globals';
import { markdownTable, type Results } from '../bench/report.js';

const summary = (median: number) => ({ n: 5, median, p95: median + 10, min: median, max: median + 10 });
const machine = { cpu: 'test', cores: 2, memoryGiB: 1, kernel: 'k', node: 'v20', git: '2', loadAtStart: 1 };

function reaction(startToId: number): NonNullable<Results['reaction']> {
  return {
    helpMs: summary(100),
    nodeStartMs: summary(50),
    clientLoadMs: summary(290),
    startToIdMs: summary(startToId),
    approveToApplyMs: summary(400),
    nextEnvironmentMs: summary(150),
    handoverMs: summary(350),
  };
}

const rowOf = (table: string, label: string) =>
  table
    .split('\n')
    .find((line) => line.includes(label))
    ?.split('|')
    .map((cell) => cell.trim());

describe('the bench table', () => {
  it('shows the figures a run replaced beside the new ones', () => {
    const previous: Results = {
      date: '2026-12-01T10:00:00.000Z',
      quick: true,
      machine,
      reaction: reaction(568),
    };
    const table = markdownTable({
      ...previous,
      date: '2026-12-02T10:00:00.000Z',
      reaction: reaction(280),
      previous,
    });
    expect(table).toContain('| previous (2026-12-01) |');
    expect(rowOf(table, '`promote start` launch')).toEqual(
      expect.arrayContaining(['280 ms', '≤ 300 ms', 'met', '568 ms']),
    );
  });

  it('states every target of the issue and by how much a median misses it', () => {
    const table = markdownTable({
      date: '2026-12-02T10:00:00.000Z',
      quick: true,
      machine,
      reaction: reaction(280),
    });
    expect(rowOf(table, 'next environment')).toEqual(expect.arrayContaining(['≤ 200 ms', 'met']));
    expect(rowOf(table, 'queued promotion')).toEqual(
      expect.arrayContaining(['≤ 300 ms', 'missed by 50 ms (1.2×)']),
    );
    expect(rowOf(table, 'approve')).toEqual(expect.arrayContaining(['missed by 100 ms (1.3×)', '']));
  });

  it("counts a relaunched worker's memory once, with both processes' RSS summed beside it", () => {
    const throughput = (launcherMiB: number) => ({
      promotions: 200,
      environments: 3,
      completionMs: 100_000,
      latencyMs: summary(90_000),
      workerPeakRssMiB: 361,
      launcherMiB,
      workerPeakSummedRssMiB: 402,
      workerLifetimePeakMiB: 402,
      serverCpuCores: 0.6,
      workerCpuCores: 0.7,
    });
    const relaunched = markdownTable({
      date: '2026-12-03T10:00:00.000Z',
      quick: false,
      machine,
      throughput: [throughput(9)],
    });
    expect(rowOf(relaunched, '200 at once: worker peak RSS')).toEqual(
      expect.arrayContaining(['361 MiB', '≤ 400 MiB', 'met']),
    );
    expect(relaunched).toContain(
      "200 at once: worker peak RSS: the worker process plus its launcher's own 9 MiB; 402 MiB with both processes' RSS summed",
    );
    // In place (the image): one process, nothing to explain.
    const inPlace = markdownTable({
      date: '2026-12-03T10:00:00.000Z',
      quick: false,
      machine,
      throughput: [throughput(0)],
    });
    expect(inPlace).toContain('200 at once: worker peak RSS (server CPU');
  });
});
