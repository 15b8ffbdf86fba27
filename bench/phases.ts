import { cp, mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { bumpValues } from '../activities/bump.js';
import { runCommand } from '../activities/command.js';
import { git } from '../activities/git.js';
import { RepositoryCache } from '../activities/repository.js';
import { startPromotion, waitForApproval } from '../client/promotions.js';
import type { PromotionRequest, PromotionState } from '../common/types.js';
import { PROJECT_ROOT } from '../server/tools.js';
import {
  AUTO_ENVIRONMENTS,
  appNames,
  createBenchRepo,
  createLargeRepo,
  INSTANT_DEPLOY,
  LARGE_REPO,
  STAMP_DEPLOY,
} from './fixtures.js';
import type { Harness, Stamp } from './harness.js';
import { historyBreakdown, type HistoryBreakdown } from './history.js';
import { cpuSecondsOf, memoryOf, sampleRss } from './proc.js';
import { round, summarize, type Summary } from './stats.js';

const PLAIN_SCRIPT = join(PROJECT_ROOT, 'bench', 'plain-promotion.sh');
const CLIENT_LOAD = join(PROJECT_ROOT, 'bench', 'load-client.mjs');

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

function request(repo: string, apps: Record<string, string>): PromotionRequest {
  return { repo, apps: Object.entries(apps).map(([app, tag]) => ({ app, tag })), requestedBy: 'bench' };
}

async function promoteAndWait(h: Harness, queue: string, req: PromotionRequest): Promise<PromotionState> {
  const handle = await startPromotion(h.client, req, { taskQueue: queue });
  return handle.result();
}

// ---------------------------------------------------------------------------------------------------

export interface OverheadResult {
  promoteMs: Summary;
  plainMs: Summary;
  /** Promote / plain script, pair by pair (run alternately). */
  ratio: Summary;
  breakdown: Record<string, Summary>;
}

/**
 * The same promotion (two apps through dev, staging and prod, all automatic, deploy commands that
 * return at once) by `promote start --wait` and by a plain shell script, alternately.
 */
export async function overhead(h: Harness, reps: number): Promise<OverheadResult> {
  const queue = 'overhead';
  await h.startWorker(queue);
  const base = { apps: ['api', 'web'], environments: AUTO_ENVIRONMENTS, deploy: INSTANT_DEPLOY };
  const promoteRepo = await createBenchRepo({ ...base, url: join(h.dir, 'overhead-promote.git') });
  const plainRepo = await createBenchRepo({ ...base, url: join(h.dir, 'overhead-plain.git') });

  const viaPromote = (i: number) =>
    h.cli(
      ['start', '--repo', promoteRepo, '--app', `api=1.5.${i}`, '--app', `web=2.1.${i}`, '--wait', '--json'],
      queue,
    );
  const viaScript = (i: number) =>
    timed(() =>
      execa('bash', [
        PLAIN_SCRIPT,
        plainRepo,
        INSTANT_DEPLOY.apply[0] ?? 'true',
        `api=1.5.${i}`,
        `web=2.1.${i}`,
      ]),
    );

  // Warm-up: the worker's first workflow, the mirror's first fetch, the lock workflows' start.
  await viaPromote(0);
  await viaScript(0);

  const promoteMs: number[] = [];
  const plainMs: number[] = [];
  const ratios: number[] = [];
  const parts: Record<string, number[]> = {};
  const add = (key: string, value: number) => (parts[key] ??= []).push(value);
  for (let i = 1; i <= reps; i++) {
    // Alternate which goes first, so neither always inherits the other's disk and CPU caches.
    let a: Awaited<ReturnType<typeof viaPromote>>;
    let b: Awaited<ReturnType<typeof viaScript>>;
    if (i % 2 === 1) {
      a = await viaPromote(i);
      b = await viaScript(i);
    } else {
      b = await viaScript(i);
      a = await viaPromote(i);
    }
    promoteMs.push(a.ms);
    plainMs.push(b.ms);
    ratios.push(a.ms / b.ms);

    const id = (JSON.parse(a.stdout) as PromotionState).id;
    const history: HistoryBreakdown = await historyBreakdown(h.client, id);
    add('total (CLI launch → exit)', a.ms);
    add('CLI launch → workflow started', history.startedAt - a.launchedAt);
    add('workflow closed → CLI exit', a.launchedAt + a.ms - history.closedAt);
    add('workflow started → closed', history.workflowMs);
    let activities = 0;
    for (const [name, ms] of Object.entries(history.activityMs)) {
      add(`activity ${name}`, ms);
      activities += ms;
    }
    add('activities, all', activities);
    add('activity tasks waiting for the worker', history.activityQueueMs);
    add('workflow tasks (worker round trips running workflow code)', history.workflowTaskMs);
    add('workflow task count', history.workflowTaskCount);
    add('updates answered (the start’s “accepted”)', history.updateCount);
    add(
      'rest: signals, lock hand-offs, server',
      history.workflowMs - activities - history.activityQueueMs - history.workflowTaskMs,
    );
  }
  return {
    promoteMs: summarize(promoteMs),
    plainMs: summarize(plainMs),
    ratio: summarize(ratios, 2),
    breakdown: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, summarize(v)])),
  };
}

// ---------------------------------------------------------------------------------------------------

export interface SpawnResult {
  gitProcessesPerPromotion: Summary;
  gitMsPerPromotion: Summary;
  /** Top-level git processes of one promotion by subcommand (the last repetition): where the count comes from. */
  gitCommands?: Record<string, number>;
  deployCommandsPerPromotion: number;
  /** One process spawned through the same code path (execa) the worker uses. */
  spawnTrueMs: Summary;
  gitRevParseMs: Summary;
}

interface TraceEvent {
  event: string;
  sid: string;
  t_abs?: number;
  argv?: string[];
}

/** The git subcommand of a trace's `start` event (`git -c k=v commit …` → `commit`). */
function subcommand(argv: readonly string[]): string {
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === '-c' || argv[i] === '-C') i++;
    else if (!argv[i]!.startsWith('-')) return argv[i]!;
  }
  return '?';
}

/** Git's own account (GIT_TRACE2_EVENT) of the git processes a promotion runs, and what one spawn costs. */
export async function spawns(h: Harness, reps: number): Promise<SpawnResult> {
  const queue = 'spawns';
  const trace = join(h.dir, 'git-trace.jsonl');
  await writeFile(trace, '');
  await h.startWorker(queue, { GIT_TRACE2_EVENT: trace });
  const repo = await createBenchRepo({
    url: join(h.dir, 'spawns.git'),
    apps: ['api', 'web'],
    environments: AUTO_ENVIRONMENTS,
    deploy: INSTANT_DEPLOY,
  });
  await promoteAndWait(h, queue, request(repo, { api: '1.0.1', web: '1.0.1' }));
  const counts: number[] = [];
  const times: number[] = [];
  let gitCommands: Record<string, number> = {};
  for (let i = 0; i < reps; i++) {
    await truncate(trace, 0);
    await promoteAndWait(h, queue, request(repo, { api: `1.1.${i}`, web: `1.1.${i}` }));
    const events = (await readFile(trace, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as TraceEvent);
    // Top-level git commands only; their children (pack-objects, remote helpers) are inside their time.
    const exits = events.filter((e) => e.event === 'exit' && !e.sid.includes('/'));
    counts.push(exits.length);
    gitCommands = {};
    for (const e of events.filter((e) => e.event === 'start' && !e.sid.includes('/'))) {
      const name = subcommand(e.argv ?? []);
      gitCommands[name] = (gitCommands[name] ?? 0) + 1;
    }
    times.push(exits.reduce((sum, e) => sum + (e.t_abs ?? 0) * 1000, 0));
  }
  const spawnTrue: number[] = [];
  const revParse: number[] = [];
  for (let i = 0; i < 20; i++) {
    spawnTrue.push((await timed(() => runCommand(['/bin/true'], { cwd: h.dir }))).ms);
    revParse.push((await timed(() => git(['rev-parse', 'HEAD'], { cwd: repo }))).ms);
  }
  return {
    gitProcessesPerPromotion: summarize(counts),
    gitMsPerPromotion: summarize(times),
    gitCommands,
    deployCommandsPerPromotion: 6,
    spawnTrueMs: summarize(spawnTrue),
    gitRevParseMs: summarize(revParse),
  };
}

// ---------------------------------------------------------------------------------------------------

export interface ReactionResult {
  helpMs: Summary;
  /** `npx promote --help`, as the README's commands run it: npm's own start-up comes on top. */
  npxHelpMs?: Summary;
  /** `node -e 0`, run alternately with `--help`: the floor no CLI written for Node can go under. */
  nodeStartMs: Summary;
  /** A Node process that only loads @temporalio/client: the floor of every command that talks to Temporal. */
  clientLoadMs: Summary;
  startToIdMs: Summary;
  approveToApplyMs: Summary;
  nextEnvironmentMs: Summary;
  /** A queued promotion's first deploy command in an environment after the one before it finished there. */
  handoverMs: Summary;
}

/** How quickly Promote reacts to a person or CI job, measured by the CLI and the deploy command's own clock. */
export async function reaction(h: Harness, reps: number): Promise<ReactionResult> {
  const queue = 'reaction';
  await h.startWorker(queue);
  const autoRepo = await createBenchRepo({
    url: join(h.dir, 'reaction-auto.git'),
    apps: ['api', 'web'],
    environments: AUTO_ENVIRONMENTS,
    deploy: STAMP_DEPLOY,
  });
  const manualRepo = await createBenchRepo({
    url: join(h.dir, 'reaction-manual.git'),
    apps: ['api', 'web'],
    environments: [
      { name: 'dev', approval: 'auto' },
      { name: 'staging', approval: 'manual' },
    ],
    deploy: STAMP_DEPLOY,
  });
  await promoteAndWait(h, queue, request(autoRepo, { api: '0.0.1' }));
  await promoteAndWait(h, queue, { ...request(manualRepo, { web: '0.0.1' }), to: 'dev' });

  // `node -e 0` alternately: what Node itself costs to start on this machine right now.
  const help: number[] = [];
  const node: number[] = [];
  const clientLoad: number[] = [];
  const npxHelp: number[] = [];
  await h.cli(['--help'], queue);
  for (let i = 0; i < reps; i++) {
    help.push((await h.cli(['--help'], queue)).ms);
    node.push((await timed(() => execa(process.execPath, ['-e', '0']))).ms);
    clientLoad.push((await timed(() => execa(process.execPath, [CLIENT_LOAD], { cwd: PROJECT_ROOT }))).ms);
    npxHelp.push(
      (await timed(() => execa('npx', ['--no-install', 'promote', '--help'], { cwd: PROJECT_ROOT }))).ms,
    );
  }

  const startToId: number[] = [];
  const autoIds: string[] = [];
  for (let i = 1; i <= reps; i++) {
    const run = await h.cli(['start', '--repo', autoRepo, '--app', `api=3.0.${i}`], queue, {
      untilLine: true,
    });
    const id = run.stdout.trim().split('\n')[0] ?? '';
    startToId.push(run.ms);
    autoIds.push(id);
    await h.client.workflow.getHandle(id).result();
  }

  const approveToApply: number[] = [];
  for (let i = 1; i <= reps; i++) {
    const handle = await startPromotion(h.client, request(manualRepo, { api: `4.0.${i}` }), {
      taskQueue: queue,
    });
    await waitForApproval(h.client, handle.workflowId, 'staging');
    // Someone other than the requester (PROMOTE_USER=bench) approves: self-approval is refused by default.
    const run = await h.cli(['approve', handle.workflowId, '--env', 'staging', '--as', 'reviewer'], queue);
    await handle.result();
    const applied = (await h.stamps(queue)).find(
      (s) => s.id === handle.workflowId && s.env === 'staging' && s.event === 'apply-start',
    );
    if (applied) approveToApply.push(applied.at - run.launchedAt);
  }

  // Two promotions of different apps of one repository at once: the second queues behind the first.
  const pairIds = new Set<string>();
  for (let i = 1; i <= reps; i++) {
    const handles = await Promise.all(
      ['api', 'web'].map((app) =>
        startPromotion(
          h.client,
          { ...request(autoRepo, { [app]: `6.0.${i}` }), to: 'dev' },
          { taskQueue: queue },
        ),
      ),
    );
    for (const handle of handles) pairIds.add(handle.workflowId);
    await Promise.all(handles.map((handle) => handle.result()));
  }

  const stamps = await h.stamps(queue);
  const handover = handovers(stamps.filter((s) => pairIds.has(s.id)));
  const nextEnv: number[] = [];
  for (const id of autoIds) {
    const of = (event: string, env: string) =>
      stamps.find((s) => s.id === id && s.event === event && s.env === env);
    for (const [prev, next] of [
      ['dev', 'staging'],
      ['staging', 'prod'],
    ] as const) {
      const done = of('apply-end', prev);
      const started = of('diff-start', next);
      if (done && started) nextEnv.push(started.at - done.at);
    }
  }
  return {
    helpMs: summarize(help),
    npxHelpMs: summarize(npxHelp),
    nodeStartMs: summarize(node),
    clientLoadMs: summarize(clientLoad),
    startToIdMs: summarize(startToId),
    approveToApplyMs: summarize(approveToApply),
    nextEnvironmentMs: summarize(nextEnv),
    handoverMs: summarize(handover),
  };
}

// ---------------------------------------------------------------------------------------------------

export interface ThroughputResult {
  promotions: number;
  /** How many environments each promotion went through. */
  environments: number;
  completionMs: number;
  latencyMs: Summary;
  /** The worker process's peak RSS plus the pages only its launcher holds (bench/proc.ts). */
  workerPeakRssMiB: number;
  /** The launcher's own pages at that peak (0: the worker ran in place). */
  launcherMiB?: number;
  /** Both processes' RSS summed, Node's shared code counted twice: the figure before stop 12. */
  workerPeakSummedRssMiB?: number;
  workerLifetimePeakMiB: number;
  /** Average cores the Temporal server used while the promotions ran. */
  serverCpuCores: number;
  workerCpuCores: number;
}

/**
 * Many promotions at once on distinct apps through one worker. Each app has its own deployment
 * repository here, so the promotions really run side by side; promotions sharing a repository queue
 * on its environment locks by design, which the reaction phase's hand-over measures.
 */
export async function throughput(
  h: Harness,
  sizes: number[],
  to: string | undefined,
  onResult: (result: ThroughputResult) => Promise<void>,
): Promise<void> {
  const queue = 'throughput';
  const workerPid = (await h.startWorker(queue)).pid ?? 0;
  const apps = appNames(Math.max(...sizes));
  const template = await createBenchRepo({
    url: join(h.dir, 'throughput-template.git'),
    apps: ['svc'],
    environments: AUTO_ENVIRONMENTS,
    deploy: STAMP_DEPLOY,
  });
  const repoOf = (app: string) => join(h.dir, 'throughput', `${app}.git`);
  for (const app of apps) await cp(template, repoOf(app), { recursive: true });
  await promoteAndWait(h, queue, request(template, { svc: '0.0.1' }));
  for (const n of sizes) {
    const serverPid = h.server.pid ?? 0;
    const [server0, worker0] = [await cpuSecondsOf(serverPid), await cpuSecondsOf(workerPid)];
    const rss = sampleRss(workerPid);
    const t0 = performance.now();
    const latencies = await Promise.all(
      apps.slice(0, n).map(async (app) => {
        const start = performance.now();
        const req = { ...request(repoOf(app), { svc: `5.${n}.0` }), ...(to ? { to } : {}) };
        const handle = await startPromotion(h.client, req, {
          taskQueue: queue,
        });
        await handle.result();
        return performance.now() - start;
      }),
    );
    const completion = performance.now() - t0;
    const peak = await rss.stop();
    const [server1, worker1] = [await cpuSecondsOf(serverPid), await cpuSecondsOf(workerPid)];
    await onResult({
      promotions: n,
      environments: to ? AUTO_ENVIRONMENTS.findIndex((e) => e.name === to) + 1 : AUTO_ENVIRONMENTS.length,
      completionMs: round(completion),
      latencyMs: summarize(latencies),
      workerPeakRssMiB: round(peak.peakMiB),
      launcherMiB: round(peak.launcherMiB),
      workerPeakSummedRssMiB: round(peak.summedPeakMiB),
      workerLifetimePeakMiB: round((await memoryOf(workerPid)).peakMiB),
      serverCpuCores: round((server1 - server0) / (completion / 1000), 2),
      workerCpuCores: round((worker1 - worker0) / (completion / 1000), 2),
    });
  }
}

function handovers(stamps: Stamp[]): number[] {
  const gaps: number[] = [];
  for (const env of new Set(stamps.map((s) => s.env))) {
    const events = stamps.filter((s) => s.env === env).sort((a, b) => a.at - b.at);
    let lastEnd: Stamp | undefined;
    for (const s of events) {
      if (s.event === 'diff-start' && lastEnd && lastEnd.id !== s.id) gaps.push(s.at - lastEnd.at);
      if (s.event === 'apply-end') lastEnd = s;
    }
  }
  return gaps;
}

// ---------------------------------------------------------------------------------------------------

export interface LargeRepoResult {
  commits: number;
  valuesFiles: number;
  coldMs: Summary;
  warmMs: Summary;
}

/** The bump activity's own code on a long history: a fresh cache (first fetch) and a warm one. */
export async function largeRepo(h: Harness, coldReps: number, warmReps: number): Promise<LargeRepoResult> {
  const url = join(h.dir, 'large.git');
  const { valuesFile } = await createLargeRepo(url);
  const identity = { name: 'Bench', email: 'bench@localhost' };
  let n = 0;
  const bumpOnce = async (cache: RepositoryCache) => {
    n++;
    const head = (await git(['rev-parse', 'main'], { cwd: url })).trim();
    const { ms } = await timed(() =>
      bumpValues(cache, {
        promotionId: `bench-large-${n}`,
        repo: url,
        branch: 'main',
        env: 'prod',
        valuesFile,
        sinceCommit: head,
        edits: [{ app: 'svc', tagPath: 'svc.image.tag', tag: `9.${n}.0` }],
        sources: [],
      }),
    );
    return ms;
  };
  const cold: number[] = [];
  let cache: RepositoryCache | undefined;
  for (let i = 0; i < coldReps; i++) {
    cache = new RepositoryCache(await mkdtemp(join(h.dir, 'large-cache-')), identity);
    cold.push(await bumpOnce(cache));
  }
  const warm: number[] = [];
  for (let i = 0; i < warmReps && cache; i++) warm.push(await bumpOnce(cache));
  return { ...LARGE_REPO, coldMs: summarize(cold), warmMs: summarize(warm) };
}
