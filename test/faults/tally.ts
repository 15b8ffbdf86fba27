import { afterAll, beforeAll } from '@jest/globals';
import { announceSeed } from './seed.js';
import { FaultServer } from './world.js';

/** How often each stop hit the place it was aimed at, and how often it missed (and was re-aimed). */
export type Tally = Map<string, { hit: number; missed: number }>;

/**
 * A fault file's shared server and tally: its seed announced before the file's tests; after them the
 * tally written to stderr as a table (`heading`, rows keyed by `column`) and the server stopped.
 * Concurrent runs may start before beforeAll has finished: they all await the one shared start.
 */
export function useFaultTally(
  file: string,
  heading: string,
  column: string,
  keys: string[],
  width: number,
): { shared: ReturnType<typeof FaultServer.shared>; tally: Tally } {
  const tally: Tally = new Map(keys.map((k) => [k, { hit: 0, missed: 0 }]));
  const shared = FaultServer.shared();
  beforeAll(() => {
    announceSeed(file);
  });
  afterAll(async () => {
    const rows = [...tally].map(
      ([key, t]) => `  ${key.padEnd(width)} ${String(t.hit).padStart(4)} ${String(t.missed).padStart(7)}`,
    );
    process.stderr.write(
      `[faults] ${file}: ${heading}\n  ${column.padEnd(width)} runs  missed (re-aimed)\n${rows.join('\n')}\n`,
    );
    await shared.stop();
  });
  return { shared, tally };
}
