import { minutesOf, parseDays, WEEKDAYS, type ConfigFreeze, type Window } from '../common/windows.js';

/**
 * When an environment is open (issue 22): inside one of its windows (none: always) and outside every
 * freeze. Time-zone math needs the time-zone database, so it runs here in an activity (Intl), never in
 * workflow code: the workflow only sleeps until the instant computed here.
 */

export interface Closure {
  /** The instant it opens again. */
  opensAt: number;
  /** Why it is closed now: a freeze's reason, or the windows. */
  reason: string;
  /** The time zone to say `opensAt` in (the first window's, else UTC). */
  timeZone: string;
}

export interface Freeze {
  from: number;
  to: number;
  reason: string;
}

interface Local {
  weekday: number;
  minutes: number;
  year: number;
  month: number;
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function local(ms: number, timeZone: string): Local {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return {
    weekday: WEEKDAYS.indexOf((parts.weekday ?? '').toLowerCase().slice(0, 3) as (typeof WEEKDAYS)[number]),
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
  };
}

/** The instant of a local wall-clock time in a zone (the later one in a DST overlap, shifted in a gap). */
function instant(year: number, month: number, day: number, minutes: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day, 0, minutes);
  let guess = wall;
  for (let i = 0; i < 3; i++) {
    const l = local(guess, timeZone);
    const seen = Date.UTC(l.year, l.month - 1, l.day, 0, l.minutes);
    guess += wall - seen;
  }
  return guess;
}

function inWindow(w: Window, ms: number): boolean {
  const days = parseDays(w.days);
  const l = local(ms, w.timeZone);
  const from = minutesOf(w.from);
  const to = minutesOf(w.to);
  if (to > from) return days.has(l.weekday) && l.minutes >= from && l.minutes < to;
  // Overnight: from `from` on a listed day to `to` the next day.
  return (days.has(l.weekday) && l.minutes >= from) || (days.has((l.weekday + 6) % 7) && l.minutes < to);
}

/** The next start of a window strictly after `ms`. */
function nextStart(w: Window, ms: number): number {
  const days = parseDays(w.days);
  const today = local(ms, w.timeZone);
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k <= 8; k++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + k));
    if (!days.has(date.getUTCDay())) continue;
    const at = instant(
      date.getUTCFullYear(),
      date.getUTCMonth() + 1,
      date.getUTCDate(),
      minutesOf(w.from),
      w.timeZone,
    );
    if (at > ms && at < best) best = at;
  }
  return best;
}

/** Undefined when open at `nowMs`; otherwise when it opens and why it is closed. */
export function closure(
  windows: readonly Window[],
  freezes: readonly Freeze[],
  nowMs: number,
): Closure | undefined {
  const timeZone = windows[0]?.timeZone ?? 'UTC';
  let reason: string | undefined;
  let t = nowMs;
  // Alternately skip freezes and gaps between windows until both agree (bounded: rules are finite).
  for (let i = 0; i < 1_000; i++) {
    const freeze = freezes.find((f) => f.from <= t && t < f.to);
    if (freeze) {
      reason ??= freeze.reason;
      t = freeze.to;
      continue;
    }
    if (windows.length > 0 && !windows.some((w) => inWindow(w, t))) {
      reason ??= `outside its windows (${windows.map((w) => `${w.days} ${w.from}-${w.to} ${w.timeZone}`).join(', ')})`;
      const next = Math.min(...windows.map((w) => nextStart(w, t)));
      if (!Number.isFinite(next)) return { opensAt: Number.MAX_SAFE_INTEGER, reason, timeZone };
      t = next;
      continue;
    }
    return reason === undefined ? undefined : { opensAt: t, reason, timeZone };
  }
  throw new Error('could not find when the environment opens (over 1000 freezes and windows in a row)');
}

/** "Mon 09:00 Europe/Berlin", with the date when it is a week or more away. */
export function openingText(ms: number, timeZone: string, nowMs: number): string {
  const l = local(ms, timeZone);
  const clock = `${String(Math.floor(l.minutes / 60)).padStart(2, '0')}:${String(l.minutes % 60).padStart(2, '0')}`;
  const day = WEEKDAYS[l.weekday] ?? '';
  const name = day.charAt(0).toUpperCase() + day.slice(1);
  const date =
    ms - nowMs >= 6 * 86_400_000
      ? ` ${l.year}-${String(l.month).padStart(2, '0')}-${String(l.day).padStart(2, '0')}`
      : '';
  return `${name}${date} ${clock} ${timeZone}`;
}

export function configFreezes(freezes: readonly ConfigFreeze[]): Freeze[] {
  return freezes.map((f) => ({ from: Date.parse(f.from), to: Date.parse(f.to), reason: f.reason }));
}
