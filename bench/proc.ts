import { readdir, readFile } from 'node:fs/promises';

/** Linux's clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on every mainstream kernel). */
const CLOCK_TICKS = 100;

/** Resident memory now and at its peak (VmHWM), in MiB, of one process, from /proc. */
async function memoryOfOne(pid: number): Promise<{ rssMiB: number; peakMiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
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

/** Samples the worker's resident memory (its processes summed) until stopped; returns the highest value seen. */
export function sampleRss(pid: number, everyMs = 100): { stop: () => Promise<number> } {
  let peak = 0;
  let stopped = false;
  const loop = (async () => {
    // Found once: the worker's processes are there from its start to its end.
    const pids = await workerProcesses(pid);
    while (!stopped) {
      const all = await Promise.all(pids.map((p) => memoryOfOne(p).catch(() => ({ rssMiB: 0 }))));
      peak = Math.max(
        peak,
        all.reduce((sum, m) => sum + m.rssMiB, 0),
      );
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
