import { afterAll } from '@jest/globals';
import { useFaultServer, type FaultRun, type RunOptions } from './world.js';

/** How often each stop hit the place it was aimed at, and how often it missed (and was re-aimed). */
export type Tally = Map<string, { hit: number; missed: number }>;

/** Where one aimed fault landed: `hit` or not, what it was (`fired`) and what it met (`at`). */
export interface Shot {
  hit: boolean;
  fired: string;
  at: string;
  /** On a hit: what the run does next and checks (a new worker, `run.verify`). */
  verify(): Promise<void>;
}

export interface Aiming {
  /** The tally's table: its heading, the name of its key column, its keys and that column's width. */
  heading: string;
  column: string;
  keys: string[];
  width: number;
  /** Attempts per run: each re-aims with half the previous delay bound, the last with none. */
  attempts: number;
  /** Named in the error when no attempt hit, e.g. `no kill hit the step`. */
  missedAll: string;
}

/** Fires `fire` at the run, waiting the seeded `delay()` before the fault, until it hits. */
export type FireUntilHit = (
  key: string,
  options: RunOptions,
  windowMs: number,
  fire: (run: FaultRun, delay: () => Promise<number>) => Promise<Shot>,
) => Promise<void>;

/**
 * A fault file whose faults are aimed at a phase and re-aimed until they hit, on the file's shared
 * server (useFaultServer). Each attempt is a fresh run (the same seed: the same decisions); `fire`
 * brings it to the phase, waits the seeded `delay()` (drawn from [0, windowMs], halved at each re-aim,
 * none on the last attempt) and fires. A miss is tallied and re-aimed; on the run it hit the misses
 * and the shot are noted and the shot's `verify` checks the outcome; no attempt hit: an error listing
 * each miss. After the file's tests the tally (hits and misses per key) is written to stderr.
 */
export function useFaultTally(file: string, aiming: Aiming): FireUntilHit {
  const { heading, column, keys, width, attempts } = aiming;
  const tally: Tally = new Map(keys.map((k) => [k, { hit: 0, missed: 0 }]));
  const faults = useFaultServer(file);
  afterAll(() => {
    const rows = [...tally].map(
      ([key, t]) => `  ${key.padEnd(width)} ${String(t.hit).padStart(4)} ${String(t.missed).padStart(7)}`,
    );
    process.stderr.write(
      `[faults] ${file}: ${heading}\n  ${column.padEnd(width)} runs  missed (re-aimed)\n${rows.join('\n')}\n`,
    );
  });
  return async (key, options, windowMs, fire) => {
    const counts = tally.get(key);
    if (!counts) throw new Error(`no tally row ${key}`);
    const misses: string[] = [];
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const bound = attempt === attempts ? 0 : Math.floor(windowMs / 2 ** (attempt - 1));
      const hit = await faults.run(options, async (run) => {
        const delay = async () => {
          const ms = run.random.int(0, bound);
          await run.sleep(ms);
          return ms;
        };
        const shot = await fire(run, delay);
        if (!shot.hit) {
          counts.missed++;
          misses.push(`attempt ${attempt}: ${shot.fired} missed at ${shot.at}`);
          return false;
        }
        counts.hit++;
        for (const miss of misses) run.note(miss);
        run.note(`${shot.fired} (attempt ${attempt}) at ${shot.at}`);
        await shot.verify();
        return true;
      });
      if (hit) return;
    }
    throw new Error(
      `${options.scenario} [seed ${options.seed}]: ${aiming.missedAll}\n  ${misses.join('\n  ')}`,
    );
  };
}
