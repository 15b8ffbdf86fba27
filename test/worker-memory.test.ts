import { describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../server/tools.js';
import {
  DEFAULT_HEAP_MB,
  defaultMaxCachedWorkflows,
  relaunchNeeded,
  workerMemoryFromEnv,
  workerNodeFlags,
} from '../worker/launch.js';
import { isRunning } from './support/processes.js';
import { useTemporal } from './support/suite.js';
import { WorkerProcess } from './support/worker-process.js';

const suite = useTemporal();

describe('the worker memory settings', () => {
  it('default to heap limits, small semi-spaces, two malloc arenas and mapped large blocks, with a cache that fits', () => {
    const memory = workerMemoryFromEnv({});
    expect(memory).toEqual({
      heapMb: DEFAULT_HEAP_MB,
      semiSpaceMb: 4,
      mallocArenaMax: '2',
      mallocMmapThreshold: '65536',
    });
    expect(workerNodeFlags(memory)).toEqual([
      `--max-old-space-size=${DEFAULT_HEAP_MB}`,
      '--max-semi-space-size=4',
    ]);
    // 200 promotions at once keep about 400 workflows cached (docs/performance.md).
    expect(defaultMaxCachedWorkflows(memory)).toBeGreaterThanOrEqual(1000);
    // 0: V8's own limits, and the SDK's own cache default.
    const unlimited = workerMemoryFromEnv({ PROMOTE_WORKER_HEAP_MB: '0', PROMOTE_WORKER_SEMI_SPACE_MB: '0' });
    expect(workerNodeFlags(unlimited)).toEqual([]);
    expect(defaultMaxCachedWorkflows(unlimited)).toBeUndefined();
    expect(workerMemoryFromEnv({ MALLOC_ARENA_MAX: '8' }).mallocArenaMax).toBe('8');
    expect(workerMemoryFromEnv({ MALLOC_MMAP_THRESHOLD_: '131072' }).mallocMmapThreshold).toBe('131072');
  });

  it('relaunch only a process that lacks them', () => {
    const memory = workerMemoryFromEnv({});
    const flags = workerNodeFlags(memory);
    const malloc = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '65536' };
    expect(relaunchNeeded(memory, {}, [])).toEqual({ flags, env: malloc });
    expect(relaunchNeeded(memory, malloc, flags)).toBeUndefined();
    expect(
      relaunchNeeded(
        memory,
        { MALLOC_ARENA_MAX: '4', MALLOC_MMAP_THRESHOLD_: '0', NODE_OPTIONS: flags.join(' ') },
        [],
      ),
    ).toBeUndefined();
    // Another limit than the one asked for, or a malloc setting missing: relaunched.
    expect(relaunchNeeded(memory, malloc, ['--max-old-space-size=4096'])).toBeDefined();
    expect(relaunchNeeded(memory, {}, flags)).toBeDefined();
    expect(relaunchNeeded(memory, { MALLOC_ARENA_MAX: '2' }, flags)).toEqual({
      flags,
      env: malloc,
    });
  });
});

describe('promote worker with a bad memory setting', () => {
  it.each([
    [
      { PROMOTE_WORKER_HEAP_MB: '256MB' },
      'PROMOTE_WORKER_HEAP_MB="256MB" must be 0 (V8\'s default) or a whole number of MiB from 64 to 65536',
    ],
    [{ PROMOTE_WORKER_HEAP_MB: '16' }, 'PROMOTE_WORKER_HEAP_MB="16" must be 0'],
    [{ PROMOTE_WORKER_SEMI_SPACE_MB: '-1' }, 'PROMOTE_WORKER_SEMI_SPACE_MB="-1" must be 0'],
    [{ MALLOC_ARENA_MAX: 'two' }, 'MALLOC_ARENA_MAX="two" must be a whole number of arenas from 1 to 9999'],
    [
      { MALLOC_MMAP_THRESHOLD_: '64k' },
      'MALLOC_MMAP_THRESHOLD_="64k" must be a whole number of bytes from 0 to 33554432',
    ],
    [{ MALLOC_MMAP_THRESHOLD_: '67108864' }, 'MALLOC_MMAP_THRESHOLD_="67108864" must be a whole number'],
  ])('%j is refused before anything starts (exit 2)', async (env, message) => {
    const result = await execa(process.execPath, [join(PROJECT_ROOT, 'bin', 'promote.js'), 'worker'], {
      env: { TEMPORAL_ADDRESS: suite.temporal.address, PROMOTE_TASK_QUEUE: 'never-polled', ...env },
      reject: false,
      timeout: 60_000,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout + result.stderr).not.toContain('worker polling');
  });
});

/** The worker process `promote worker` (pid) relaunched with its memory settings. */
async function relaunchedChild(pid: number): Promise<number> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) return Number(entry);
  }
  throw new Error(`promote worker (${pid}) has no child process`);
}

async function environOf(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
}

describe('promote worker runs with its memory settings', () => {
  const start = (env: Record<string, string>) =>
    WorkerProcess.start({
      TEMPORAL_ADDRESS: suite.temporal.address,
      PROMOTE_TASK_QUEUE: `memory-${process.pid}`,
      PROMOTE_SHUTDOWN_GRACE_MS: '2000',
      ...env,
    });

  it('relaunches itself with the malloc settings and the heap limits, reaching the workflow thread', async () => {
    const worker = await start({ PROMOTE_WORKER_HEAP_MB: '192' });
    try {
      const child = await relaunchedChild(worker.pid!);
      expect(await environOf(child)).toEqual(
        expect.arrayContaining(['MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=65536']),
      );
      expect(await environOf(worker.pid!)).not.toContain('MALLOC_ARENA_MAX=2');
      expect(await environOf(worker.pid!)).not.toContain('MALLOC_MMAP_THRESHOLD_=65536');
      // heap_size_limit is the old generation plus the young one (three semi-spaces of 4 MiB).
      expect(worker.log).toContain(
        'memory: V8 heap limit 204 MiB (main thread), 204 MiB (workflow threads); MALLOC_ARENA_MAX=2; MALLOC_MMAP_THRESHOLD_=65536; workflow cache 768',
      );
      // SIGTERM to `promote worker` reaches the worker, which drains and stops; the launcher ends with it.
      await worker.stop();
      expect(worker.log).toContain('SIGTERM: stopping the worker');
      expect(isRunning(child)).toBe(false);
    } finally {
      await worker.stop();
    }
  }, 300_000);

  it("keeps an operator's malloc settings and runs in place when node already has the flags", async () => {
    const worker = await start({
      MALLOC_ARENA_MAX: '3',
      MALLOC_MMAP_THRESHOLD_: '131072',
      NODE_OPTIONS: `--max-old-space-size=${DEFAULT_HEAP_MB} --max-semi-space-size=4`,
      PROMOTE_MAX_CACHED_WORKFLOWS: '500',
    });
    try {
      // As the container image runs it: no second process.
      await expect(relaunchedChild(worker.pid!)).rejects.toThrow('has no child process');
      expect(worker.log).toContain(
        `memory: V8 heap limit ${DEFAULT_HEAP_MB + 12} MiB (main thread), ${DEFAULT_HEAP_MB + 12} MiB (workflow threads); MALLOC_ARENA_MAX=3; MALLOC_MMAP_THRESHOLD_=131072; workflow cache 500`,
      );
    } finally {
      await worker.stop();
    }
  }, 300_000);
});

describe('the container image', () => {
  it('starts node with the default memory settings, so its worker never relaunches', async () => {
    const dockerfile = await readFile(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    const entrypoint = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(dockerfile)![1]!) as string[];
    expect(entrypoint.slice(0, 3)).toEqual(['tini', '--', 'node']);
    expect(entrypoint.at(-1)).toBe('/app/bin/promote.js');
    const arenas = /^\s+MALLOC_ARENA_MAX=(\S+)/m.exec(dockerfile)?.[1];
    const threshold = /^\s+MALLOC_MMAP_THRESHOLD_=(\S+)/m.exec(dockerfile)?.[1];
    const memory = workerMemoryFromEnv({});
    expect([arenas, threshold]).toEqual([memory.mallocArenaMax, memory.mallocMmapThreshold]);
    expect(
      relaunchNeeded(
        memory,
        { MALLOC_ARENA_MAX: arenas, MALLOC_MMAP_THRESHOLD_: threshold },
        entrypoint.slice(3, -1),
      ),
    ).toBeUndefined();
  });
});
