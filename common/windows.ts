/** Deployment windows and freezes as promote.yaml states them (issue 22); the math lives in activities/windows.ts. */

export interface Window {
  /** `mon-fri`, `sat,sun`, `mon,wed-fri`, `*`. */
  days: string;
  /** `HH:MM`, local to `timeZone`. */
  from: string;
  to: string;
  timeZone: string;
}

export interface ConfigFreeze {
  from: string;
  to: string;
  reason: string;
}

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** The weekdays (0 = Sunday) a `days` expression names; throws on a bad one. */
export function parseDays(text: string): Set<number> {
  const days = new Set<number>();
  const index = (name: string) => {
    const i = WEEKDAYS.indexOf(name.trim().toLowerCase() as (typeof WEEKDAYS)[number]);
    if (i < 0) throw new Error(`unknown day ${JSON.stringify(name)}`);
    return i;
  };
  if (text.trim() === '*') return new Set([0, 1, 2, 3, 4, 5, 6]);
  for (const part of text.split(',')) {
    const [first, last] = part.split('-');
    if (first === undefined || part.split('-').length > 2)
      throw new Error(`bad days ${JSON.stringify(text)}`);
    const start = index(first);
    const end = last === undefined ? start : index(last);
    // `fri-mon` wraps over the weekend.
    for (let d = start; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === end) break;
    }
  }
  return days;
}

/** Minutes since local midnight of `HH:MM`. */
export function minutesOf(clock: string): number {
  const [h = '0', m = '0'] = clock.split(':');
  return Number(h) * 60 + Number(m);
}

/** Where a promotion waits for its environment to open (status `waiting-window`). */
export interface WindowWait {
  /** When it opens (ISO). */
  until: string;
  /** e.g. "prod closed until Mon 09:00 Europe/Berlin — sale freeze". */
  details: string;
}

/** An approver let the environment be deployed outside its windows and freezes: recorded for the audit. */
export interface WindowOverride {
  env: string;
  by: string;
  reason: string;
  at: string;
}
