/**
 * Seeded randomness for the fault-injection suite: every random choice (where to kill, how long an
 * outage lasts, who approves) comes from a run's seed, printed in the test's name, so a failing run is
 * replayed with `FAULT_SEED=<seed> npm run test:faults -- -t '<scenario>'`. Timing on a busy machine
 * still varies; the seed fixes the decisions, not the scheduler.
 */

/** mulberry32: a tiny, well-known 32-bit PRNG; good enough to pick fault points. */
export function rng(seed: number): Random {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: <T>(items: readonly T[]): T => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
  };
}

export interface Random {
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`FAULT_SEED must be an integer between 0 and ${0xffffffff}, not "${text}"`);
  }
  return value;
}

/** FAULT_SEED, when given, is the seed of every run (to replay one); otherwise a fresh base seed. */
export const REPLAY_SEED = parseSeed(process.env.FAULT_SEED);
const BASE_SEED = REPLAY_SEED ?? Math.floor(Math.random() * 0xffffffff);
const seeds = rng(BASE_SEED);

/** The seed of the next run: FAULT_SEED itself when replaying, else drawn from the printed base seed. */
export function nextSeed(): number {
  return REPLAY_SEED ?? seeds.int(0, 0xffffffff);
}

export function announceSeed(file: string): void {
  process.stderr.write(
    REPLAY_SEED === undefined
      ? `[faults] ${file}: base seed ${BASE_SEED} (each run's own seed is in its test name)\n`
      : `[faults] ${file}: replaying FAULT_SEED=${REPLAY_SEED} in every run\n`,
  );
}
