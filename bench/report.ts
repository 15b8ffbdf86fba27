import type { Machine } from './machine.js';
import type {
  LargeRepoResult,
  OverheadResult,
  ReactionResult,
  SpawnResult,
  ThroughputResult,
} from './phases.js';
import type { Summary } from './stats.js';

export interface Results {
  date: string;
  quick: boolean;
  machine: Machine;
  durationS?: number;
  overhead?: OverheadResult;
  spawns?: SpawnResult;
  reaction?: ReactionResult;
  throughput?: ThroughputResult[];
  largeRepo?: LargeRepoResult;
  /** The figures this run replaced, shown beside the new ones (never nested further). */
  previous?: Omit<Results, 'previous'>;
}

interface Row {
  /** Stable across runs (the label carries measured numbers), to find the previous figure. */
  key: string;
  what: string;
  median: string;
  p95: string;
  n: string;
  target: string;
  verdict: string;
}

const ms = (v: number) => `${Math.round(v)} ms`;

/** "met", or by how much the median misses the target. */
/**
 * How the worker's memory is counted when `promote worker` relaunched itself (bench/proc.ts): the worker
 * process's RSS plus the launcher's own pages, with both processes' RSS summed beside it (Node's code,
 * shared by the two, counted twice: how the figure was taken before).
 */
function launcherNote(t: ThroughputResult): string {
  if (!t.launcherMiB || t.workerPeakSummedRssMiB === undefined) return '';
  return `: the worker process plus its launcher's own ${Math.round(t.launcherMiB)} MiB; ${Math.round(t.workerPeakSummedRssMiB)} MiB with both processes' RSS summed`;
}

function verdict(value: number, target: number, unit: (v: number) => string): string {
  if (value <= target) return 'met';
  return `missed by ${unit(value - target)} (${(value / target).toFixed(1)}×)`;
}

function timed(key: string, what: string, s: Summary | undefined, target?: number): Row | undefined {
  if (!s) return undefined;
  return {
    key,
    what,
    median: ms(s.median),
    p95: ms(s.p95),
    n: String(s.n),
    target: target === undefined ? '' : `≤ ${target} ms`,
    verdict: target === undefined ? '' : verdict(s.median, target, ms),
  };
}

function tableRows(r: Omit<Results, 'previous'>): Row[] {
  const rows: (Row | undefined)[] = [];
  const o = r.overhead;
  if (o) {
    rows.push(
      timed('promotion', 'promotion, 2 apps × dev/staging/prod, `promote start --wait`', o.promoteMs),
    );
    rows.push(timed('plain', 'same work, plain shell script (run alternately)', o.plainMs));
    rows.push({
      key: 'ratio',
      what: '**ratio** Promote / plain script, pair by pair',
      median: `${o.ratio.median.toFixed(2)}×`,
      p95: `${o.ratio.p95.toFixed(2)}×`,
      n: String(o.ratio.n),
      target: '≤ 2×',
      verdict: verdict(o.ratio.median, 2, (v) => `${v.toFixed(2)}×`),
    });
  }
  const x = r.reaction;
  if (x) {
    rows.push(timed('help', '`promote --help` (on PATH, e.g. after `npm link`)', x.helpMs, 150));
    if (x.npxHelpMs)
      rows.push(
        timed('npx-help', '`npx promote --help` (as the README first runs it, alternately)', x.npxHelpMs),
      );
    rows.push(
      timed('node', '`node -e 0` (Node’s own start-up, run alternately with `--help`)', x.nodeStartMs),
    );
    rows.push(
      timed(
        'client-load',
        'a Node process that only loads `@temporalio/client` (alternately)',
        x.clientLoadMs,
      ),
    );
    rows.push(timed('start', '`promote start` launch → id printed', x.startToIdMs, 300));
    rows.push(
      timed(
        'approve',
        '`promote approve` launch → apply started (deploy command clock)',
        x.approveToApplyMs,
        300,
      ),
    );
    rows.push(
      timed(
        'next-environment',
        'next environment: previous apply finished → next diff started',
        x.nextEnvironmentMs,
        200,
      ),
    );
    rows.push(
      timed(
        'handover',
        'queued promotion: holder’s apply finished → its first diff started (same environment)',
        x.handoverMs,
        300,
      ),
    );
  }
  for (const t of r.throughput ?? []) {
    const done = t.promotions >= 200;
    rows.push({
      key: `throughput-${t.promotions}`,
      what: `${t.promotions} promotions at once through ${t.environments === 3 ? 'dev/staging/prod' : `${t.environments} environment(s)`} (distinct apps and repositories, one worker): all done`,
      median: ms(t.completionMs),
      p95: '',
      n: '1',
      target: done ? '≤ 120 s' : '',
      verdict: done ? verdict(t.completionMs / 1000, 120, (v) => `${Math.round(v)} s`) : '',
    });
    rows.push(
      timed(`latency-${t.promotions}`, `${t.promotions} at once: latency of one promotion`, t.latencyMs),
    );
    rows.push({
      key: `rss-${t.promotions}`,
      what: `${t.promotions} at once: worker peak RSS${launcherNote(t)} (server CPU ${t.serverCpuCores} cores, worker CPU ${t.workerCpuCores} cores)`,
      median: `${Math.round(t.workerPeakRssMiB)} MiB`,
      p95: '',
      n: '1',
      target: done ? '≤ 400 MiB' : '',
      verdict: done ? verdict(t.workerPeakRssMiB, 400, (v) => `${Math.round(v)} MiB`) : '',
    });
  }
  const l = r.largeRepo;
  if (l) {
    rows.push(
      timed('bump-cold', `bump, ${l.commits} commits / ${l.valuesFiles} values files, cold cache`, l.coldMs),
    );
    rows.push(timed('bump-warm', 'bump, same repository, warm cache', l.warmMs, 300));
  }
  return rows.filter((row): row is Row => row !== undefined);
}

export function markdownTable(r: Results): string {
  const before = new Map(r.previous ? tableRows(r.previous).map((row) => [row.key, row.median]) : []);
  const lines = [
    `| measurement | median | p95 | runs | target | result | previous${r.previous ? ` (${r.previous.date.slice(0, 10)})` : ''} |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...tableRows(r).map(
      (row) =>
        `| ${row.what} | ${row.median} | ${row.p95} | ${row.n} | ${row.target} | ${row.verdict} | ${before.get(row.key) ?? ''} |`,
    ),
  ];
  const m = r.machine;
  const header = `Measured ${r.date} on ${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, git ${m.git}; load average ${m.loadAtStart} at start, ${m.loadAtEnd ?? '?'} at end${r.quick ? ' (`--quick`)' : ''}.`;
  return `${header}\n\n${lines.join('\n')}\n${breakdownTable(r)}`;
}

function breakdownTable(r: Results): string {
  const o = r.overhead;
  if (!o) return '';
  const was = r.previous?.overhead?.breakdown ?? {};
  const figure = (k: string, v: number | undefined) =>
    v === undefined ? '' : k.endsWith('count') || k.startsWith('updates') ? String(v) : ms(v);
  const lines = [
    '',
    'Where a promotion’s time goes (medians per promotion; parts of the workflow overlap little, so they roughly add up):',
    '',
    '| part | median | p95 | previous |',
    '| --- | --- | --- | --- |',
    ...Object.entries(o.breakdown).map(
      ([k, s]) => `| ${k} | ${figure(k, s.median)} | ${figure(k, s.p95)} | ${figure(k, was[k]?.median)} |`,
    ),
  ];
  const s = r.spawns;
  if (s) {
    // Which subcommands make up the count (one promotion), most frequent first.
    const by = Object.entries(s.gitCommands ?? {})
      .sort(([, a], [, b]) => b - a)
      .map(([name, n]) => `${name} ${n}`)
      .join(', ');
    const wasGit = r.previous?.spawns?.gitProcessesPerPromotion.median;
    lines.push(
      `| git processes inside activities: ${s.gitProcessesPerPromotion.median} per promotion (git's own trace${by ? `: ${by}` : ''}) | ${ms(s.gitMsPerPromotion.median)} | ${ms(s.gitMsPerPromotion.p95)} | ${wasGit === undefined ? '' : `${wasGit} processes`} |`,
      `| one process spawn through execa (\`/bin/true\`), ${s.deployCommandsPerPromotion} deploy commands per promotion | ${ms(s.spawnTrueMs.median)} | ${ms(s.spawnTrueMs.p95)} | |`,
      `| one \`git rev-parse\` through execa | ${ms(s.gitRevParseMs.median)} | ${ms(s.gitRevParseMs.p95)} | |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
