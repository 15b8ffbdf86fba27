// `npm run bench [-- --quick] [-- --only overhead,reaction,...]`: measures Promote on this machine
// and writes bench/results.json and bench/results.md.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PROJECT_ROOT } from '../server/tools.js';
import { Harness } from './harness.js';
import { currentLoad, describeMachine } from './machine.js';
import { largeRepo, overhead, reaction, spawns, throughput, type ThroughputResult } from './phases.js';
import { markdownTable, type Results } from './report.js';

const RESULTS_JSON = join(PROJECT_ROOT, 'bench', 'results.json');
const PHASES = ['overhead', 'spawns', 'reaction', 'throughput', 'large-repo'] as const;
type Phase = (typeof PHASES)[number];

function parseArgs(argv: string[]): { quick: boolean; phases: Phase[] } {
  const quick = argv.includes('--quick');
  const onlyIndex = argv.indexOf('--only');
  const only = onlyIndex >= 0 ? (argv[onlyIndex + 1] ?? '').split(',') : [...PHASES];
  const unknown = only.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown phase ${unknown.join(', ')}; phases: ${PHASES.join(', ')}\n`);
    process.exit(2);
  }
  return { quick, phases: only as Phase[] };
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function previousResults(): Promise<Partial<Results>> {
  try {
    return JSON.parse(await readFile(RESULTS_JSON, 'utf8')) as Partial<Results>;
  } catch {
    return {};
  }
}

/** Written after every phase, so an interrupted run keeps what it measured. */
async function write(results: Results): Promise<string> {
  const table = markdownTable(results);
  await writeFile(RESULTS_JSON, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(PROJECT_ROOT, 'bench', 'results.md'), table);
  return table;
}

async function main(): Promise<void> {
  const { quick, phases } = parseArgs(process.argv.slice(2));
  const reps = quick ? 5 : 15;
  const started = performance.now();
  const previous = await previousResults();
  delete previous.previous; // one generation back is enough
  const results: Results = {
    // `--only` re-measures some phases and keeps the others' latest figures.
    ...(phases.length < PHASES.length ? previous : {}),
    // The figures this run replaces, shown beside the new ones.
    ...(previous.date ? { previous: previous as Omit<Results, 'previous'> } : {}),
    date: new Date().toISOString(),
    quick,
    machine: await describeMachine(),
  };
  const h = await Harness.start();
  // Ctrl-C still stops the server and workers this run started.
  const interrupted = () => void h.stop().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const run = async (phase: Phase, work: () => Promise<void>) => {
      if (!phases.includes(phase)) return;
      log(`${phase}…`);
      const t = performance.now();
      try {
        await work();
      } catch (error) {
        // Said now: closing the client later can end the process (calls still retrying) before it is.
        log(`${phase} failed: ${error instanceof Error ? error.stack : String(error)}`);
        log(`the worker's last output:\n${h.workerOutput()}`);
        throw error;
      } finally {
        await h.stopWorkers();
      }
      log(`${phase} done in ${((performance.now() - t) / 1000).toFixed(0)} s`);
      await write(results);
    };
    await run('overhead', async () => void (results.overhead = await overhead(h, reps)));
    await run('spawns', async () => void (results.spawns = await spawns(h, quick ? 2 : 5)));
    await run('reaction', async () => void (results.reaction = await reaction(h, reps)));
    await run('throughput', async () => {
      const measured: ThroughputResult[] = [];
      results.throughput = measured;
      // Each size is written as soon as it is measured: 200 promotions take long on a busy machine.
      await throughput(h, [50, 200], quick ? 'dev' : undefined, async (result) => {
        measured.push(result);
        await write(results);
      });
    });
    await run(
      'large-repo',
      async () => void (results.largeRepo = await largeRepo(h, quick ? 2 : 3, quick ? 5 : 15)),
    );
  } finally {
    await h.stop();
  }
  results.machine.loadAtEnd = currentLoad();
  results.durationS = Math.round((performance.now() - started) / 1000);
  process.stdout.write(`${await write(results)}\n`);
  log(`done in ${results.durationS} s; wrote bench/results.json and bench/results.md`);
}

await main();
