import { readdir, readFile } from 'node:fs/promises';

/** Linux's clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on every mainstream kernel). */
const CLOCK_TICKS = 100;

const kibOf = (text: string, key: string) =>
  Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);

/** Resident memory now and at its peak (VmHWM), in MiB, of one process, from /proc. */
async function memoryOfOne(pid: number): Promise<{ rssMiB: number; peakMiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return { rssMiB: kibOf(status, 'VmRSS') / 1024, peakMiB: kibOf(status, 'VmHWM') / 1024 };
}

/**
 * The resident pages only this process maps (Private_Clean + Private_Dirty), in MiB: what a launcher
 * adds to its worker's memory. The rest of its RSS is Node's code, mapped once for both processes.
 */
async function privateMemoryOf(pid: number): Promise<number> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  return (kibOf(rollup, 'Private_Clean') + kibOf(rollup, 'Private_Dirty')) / 1024;
}

/** The worker's memory in one sample: each page once, and (as measured before) both processes' RSS summed. */
export interface WorkerMemorySample {
  /** The worker process's RSS, plus the pages only its launcher holds when it relaunched itself. */
  rssMiB: number;
  /** Every process's RSS added up: Node's code pages, shared by launcher and worker, counted twice. */
  summedRssMiB: number;
  /** What the launcher holds of its own (0 when the worker runs in place, as in the image). */
  launcherMiB: number;
}

async function sampleOnce(pids: number[]): Promise<WorkerMemorySample> {
  const all = await Promise.all(pids.map((p) => memoryOfOne(p).catch(() => ({ rssMiB: 0, peakMiB: 0 }))));
  const summedRssMiB = all.reduce((sum, m) => sum + m.rssMiB, 0);
  if (pids.length < 2) return { rssMiB: summedRssMiB, summedRssMiB, launcherMiB: 0 };
  // pids[0] is the launcher (workerProcesses): its own pages only, the worker's whole RSS.
  const launcherMiB = await privateMemoryOf(pids[0]!).catch(() => 0);
  const workers = all.slice(1).reduce((sum, m) => sum + m.rssMiB, 0);
  return { rssMiB: workers + launcherMiB, summedRssMiB, launcherMiB };
}

/**
 * `promote worker` and, when it relaunched itself with its memory settings (worker/launch.ts), the
 * worker process it started: both are the worker's memory and CPU. (Not the git and deploy processes
 * the worker runs: those were never counted.)
 */
export async function workerProcesses(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid !== pid) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').includes('PROMOTE_WORKER_LAUNCHED=1')) children.push(Number(entry));
  }
  return [pid, ...children];
}

/** Resident memory now and at its peak (VmHWM, summed), in MiB, of the worker's processes. */
export async function memoryOf(pid: number): Promise<{ rssMiB: number; peakMiB: number }> {
  const all = await Promise.all((await workerProcesses(pid)).map((p) => memoryOfOne(p)));
  return {
    rssMiB: all.reduce((sum, m) => sum + m.rssMiB, 0),
    peakMiB: all.reduce((sum, m) => sum + m.peakMiB, 0),
  };
}

/** CPU seconds (user + system) the worker's processes have used so far. */
export async function cpuSecondsOf(pid: number): Promise<number> {
  let total = 0;
  for (const p of await workerProcesses(pid)) total += await cpuSecondsOfOne(p);
  return total;
}

async function cpuSecondsOfOne(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at the closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * Samples the worker's resident memory until stopped; returns the highest values seen: each page once
 * (the worker's RSS plus its launcher's own pages) and, beside it, every process's RSS summed.
 */
export function sampleRss(
  pid: number,
  everyMs = 100,
): { stop: () => Promise<{ peakMiB: number; summedPeakMiB: number; launcherMiB: number }> } {
  const peak = { peakMiB: 0, summedPeakMiB: 0, launcherMiB: 0 };
  let stopped = false;
  const loop = (async () => {
    // Found once: the worker's processes are there from its start to its end.
    const pids = await workerProcesses(pid);
    while (!stopped) {
      const sample = await sampleOnce(pids);
      if (sample.rssMiB > peak.peakMiB) {
        peak.peakMiB = sample.rssMiB;
        peak.launcherMiB = sample.launcherMiB;
      }
      peak.summedPeakMiB = Math.max(peak.summedPeakMiB, sample.summedRssMiB);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return peak;
    },
  };
}
