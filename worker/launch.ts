// `promote worker`'s launcher: node built-ins only, so the process that may only relaunch stays small.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { Worker } from 'node:worker_threads';

/**
 * The V8 heap limit of each of the worker's JavaScript threads (the main thread, running activities, and
 * the SDK's workflow thread), in MiB. Left alone, V8 sizes the old generation to the allocation rate on
 * a 4 GB limit, and the workflow thread kept 3–4× its live data as garbage at 200 promotions at once
 * (docs/performance.md); a limit a few times the live data makes it collect instead.
 */
export const DEFAULT_HEAP_MB = 256;
/** The young generation's semi-space per thread (V8's default is 16 MiB: 48 MiB of young heap a thread). */
export const DEFAULT_SEMI_SPACE_MB = 4;
/** glibc's malloc arenas: by default up to 8 per core, each keeping what a burst of threads allocated. */
export const DEFAULT_MALLOC_ARENA_MAX = '2';
/**
 * glibc's mmap threshold, in bytes: a block this large or larger is mapped on its own and given back to
 * the system when freed. Left alone, glibc raises the threshold to the size of each large block freed
 * (up to 32 MiB), so the worker's stream of 64 KiB blocks (pipe reads of git's output, the payloads
 * between the Temporal core and JavaScript) ends up in the heap, which holds on to the pages between
 * live blocks: at 200 promotions at once, `malloc_trim` handed back 30–35 MiB of such free memory each
 * time it was called, and with this threshold the worker's peak fell from 381 to 338 MiB
 * (docs/performance.md).
 */
export const DEFAULT_MALLOC_MMAP_THRESHOLD = '65536';
/** glibc's own ceiling for the mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX). */
const MAX_MALLOC_MMAP_THRESHOLD = 32 * 1024 * 1024;
/** Cached workflows per MiB of heap limit when the cache is not set: 1,024 at 256 MiB (about 115 MiB live). */
const CACHED_WORKFLOWS_PER_HEAP_MB = 4;

/** Set in the relaunched worker's environment. */
const LAUNCHED = 'PROMOTE_WORKER_LAUNCHED';

export class WorkerMemorySettingError extends Error {}

export interface WorkerMemory {
  /** PROMOTE_WORKER_HEAP_MB; 0: V8's own limits (no flags). */
  heapMb: number;
  semiSpaceMb: number;
  /** MALLOC_ARENA_MAX as the worker runs with it. */
  mallocArenaMax: string;
  /** MALLOC_MMAP_THRESHOLD_ (glibc's spelling, trailing underscore included) as the worker runs with it. */
  mallocMmapThreshold: string;
}

function wholeNumber(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!(value === 0 || (value >= min && value <= max)))
    throw new WorkerMemorySettingError(
      `${name}=${JSON.stringify(raw)} must be 0 (V8's default) or a whole number of MiB from ${min} to ${max}`,
    );
  return value;
}

/**
 * PROMOTE_WORKER_HEAP_MB, PROMOTE_WORKER_SEMI_SPACE_MB, MALLOC_ARENA_MAX and MALLOC_MMAP_THRESHOLD_,
 * checked (bad: exit 2).
 */
export function workerMemoryFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerMemory {
  const heapMb = wholeNumber(env, 'PROMOTE_WORKER_HEAP_MB', DEFAULT_HEAP_MB, 64, 65536);
  const semiSpaceMb = wholeNumber(env, 'PROMOTE_WORKER_SEMI_SPACE_MB', DEFAULT_SEMI_SPACE_MB, 1, 256);
  const arena = env.MALLOC_ARENA_MAX;
  if (arena !== undefined && !/^[1-9]\d{0,3}$/.test(arena))
    throw new WorkerMemorySettingError(
      `MALLOC_ARENA_MAX=${JSON.stringify(arena)} must be a whole number of arenas from 1 to 9999`,
    );
  const threshold = env.MALLOC_MMAP_THRESHOLD_;
  if (
    threshold !== undefined &&
    !(/^\d{1,8}$/.test(threshold) && Number(threshold) <= MAX_MALLOC_MMAP_THRESHOLD)
  )
    throw new WorkerMemorySettingError(
      `MALLOC_MMAP_THRESHOLD_=${JSON.stringify(threshold)} must be a whole number of bytes from 0 to ${MAX_MALLOC_MMAP_THRESHOLD}`,
    );
  return {
    heapMb,
    semiSpaceMb,
    mallocArenaMax: arena ?? DEFAULT_MALLOC_ARENA_MAX,
    mallocMmapThreshold: threshold ?? DEFAULT_MALLOC_MMAP_THRESHOLD,
  };
}

/** The node flags that give every V8 heap of the process (worker threads too) these limits. */
export function workerNodeFlags(memory: WorkerMemory): string[] {
  return [
    ...(memory.heapMb ? [`--max-old-space-size=${memory.heapMb}`] : []),
    ...(memory.semiSpaceMb ? [`--max-semi-space-size=${memory.semiSpaceMb}`] : []),
  ];
}

/**
 * The workflow cache when PROMOTE_MAX_CACHED_WORKFLOWS is unset: what fits in the workflow thread's heap
 * limit (the SDK's own default derives from the main heap's limit and would fall to about 40 here, far
 * below the ~400 that 200 promotions at once keep). Undefined: the SDK's default (no heap limit).
 */
export function defaultMaxCachedWorkflows(memory: WorkerMemory): number | undefined {
  return memory.heapMb ? memory.heapMb * CACHED_WORKFLOWS_PER_HEAP_MB : undefined;
}

/** V8's heap limit of a new thread of this process, in MiB (the SDK starts its workflow thread so). */
function threadHeapLimitMiB(): Promise<number> {
  const code =
    "require('node:worker_threads').parentPort.postMessage(require('node:v8').getHeapStatistics().heap_size_limit)";
  return new Promise((resolve, reject) => {
    const thread = new Worker(code, { eval: true });
    thread.once('message', (bytes: number) => resolve(Math.round(bytes / 1024 / 1024)));
    thread.once('error', reject);
  });
}

/**
 * The worker's memory as it really runs, for its start-up log: the heap limits V8 gives the main thread
 * and a new thread (the workflow thread is one), the allocator's arenas and the workflow cache.
 */
export async function memoryLine(cachedWorkflows: number | undefined): Promise<string> {
  const main = Math.round(getHeapStatistics().heap_size_limit / 1024 / 1024);
  const thread = await threadHeapLimitMiB();
  const arenas = process.env.MALLOC_ARENA_MAX ?? 'glibc default';
  const threshold = process.env.MALLOC_MMAP_THRESHOLD_ ?? 'glibc default';
  const cache = cachedWorkflows === undefined ? "the SDK's default" : String(cachedWorkflows);
  return `memory: V8 heap limit ${main} MiB (main thread), ${thread} MiB (workflow threads); MALLOC_ARENA_MAX=${arenas}; MALLOC_MMAP_THRESHOLD_=${threshold}; workflow cache ${cache}`;
}

/** A heap flag of this process, from its command line or NODE_OPTIONS, or undefined. */
function flagValue(flag: string, execArgv: string[], nodeOptions: string): string | undefined {
  const all = [...nodeOptions.split(/\s+/), ...execArgv];
  const found = all.filter((arg) => arg.replace(/_/g, '-').startsWith(`${flag}=`)).pop();
  return found?.slice(found.indexOf('=') + 1);
}

/**
 * What this process lacks to run as configured: environment and node flags for a relaunch, or
 * undefined when it already runs so (the container image starts node with the defaults,
 * MALLOC_ARENA_MAX and MALLOC_MMAP_THRESHOLD_, so it never relaunches unless an operator changes them).
 */
export function relaunchNeeded(
  memory: WorkerMemory,
  env: NodeJS.ProcessEnv = process.env,
  execArgv: string[] = process.execArgv,
): { flags: string[]; env: NodeJS.ProcessEnv } | undefined {
  const flags = workerNodeFlags(memory);
  const nodeOptions = env.NODE_OPTIONS ?? '';
  const flagsIn = flags.every((flag) => {
    const [name, value] = flag.split('=');
    return flagValue(name!, execArgv, nodeOptions) === value;
  });
  if (flagsIn && env.MALLOC_ARENA_MAX !== undefined && env.MALLOC_MMAP_THRESHOLD_ !== undefined)
    return undefined;
  return {
    flags,
    env: {
      ...env,
      MALLOC_ARENA_MAX: memory.mallocArenaMax,
      MALLOC_MMAP_THRESHOLD_: memory.mallocMmapThreshold,
    },
  };
}

/** Flags of this process other than the heap limits the relaunch sets. */
function otherFlags(execArgv: string[]): string[] {
  return execArgv.filter((arg) => !/^--max[-_](old|semi)[-_]space[-_]size=/.test(arg));
}

/**
 * `promote worker` runs its worker in a process started with its memory settings: glibc reads
 * MALLOC_ARENA_MAX and MALLOC_MMAP_THRESHOLD_ when a process starts and V8's heap limits when a heap is made, so neither can be set
 * by a running worker. Returns the exit code when it relaunched (the worker ran in the child), or
 * undefined when this process is already configured and should run the worker itself. The relaunching
 * parent holds nothing but node itself, passes SIGTERM on and ends with its child's exit code.
 */
export async function launchWorker(argv: string[] = process.argv): Promise<number | undefined> {
  let memory: WorkerMemory;
  try {
    memory = workerMemoryFromEnv();
  } catch (error) {
    if (!(error instanceof WorkerMemorySettingError)) throw error;
    process.stderr.write(`promote: ${error.message}\n`);
    return 2;
  }
  // The child never relaunches again, whatever it makes of its flags.
  if (process.env[LAUNCHED] === '1') return undefined;
  const plan = relaunchNeeded(memory);
  if (!plan) return undefined;
  const child = spawn(process.execPath, [...otherFlags(process.execArgv), ...plan.flags, ...argv.slice(1)], {
    env: { ...plan.env, [LAUNCHED]: '1' },
    stdio: 'inherit',
  });
  // SIGTERM (a container stop, a service manager) is passed on. Ctrl-C and a terminal's hang-up reach the
  // child from the terminal itself (same process group): passed on too, one Ctrl-C would be two, and a
  // second stops the worker without draining. The parent only outlives them to end with its child.
  const signals = [
    ['SIGTERM', () => void child.kill('SIGTERM')],
    ['SIGINT', () => undefined],
    ['SIGHUP', () => undefined],
  ] as const;
  for (const [signal, handler] of signals) process.on(signal, handler);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      for (const [name, handler] of signals) process.off(name, handler);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
