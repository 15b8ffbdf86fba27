import type { Client } from '@temporalio/client';
import { TERMINAL_STATUSES, type PromotionState } from '../common/types.js';
import { getStatus, NotFoundError } from './promotions.js';
import { envProgressLine, headerLine, progressBlock } from './progress.js';
import { printableDeep } from './printable.js';

/** Where progress goes: process.stdout in the CLI, a collecting stream in tests. */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface WatchOptions {
  /** One JSON state per line, each time something changes; the last line is the final state. */
  json?: boolean;
  out?: ProgressOutput;
  /** Redraw in place (default: when `out` is a terminal). */
  tty?: boolean;
  intervalMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A terminal gets the block redrawn in place; wrapped lines would break the cursor arithmetic, so lines are cut. */
class TerminalView {
  private drawn = 0;
  constructor(private readonly out: ProgressOutput) {}

  draw(lines: string[]): void {
    const width = Math.max(20, (this.out.columns ?? 120) - 1);
    const cut = lines.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A\r\x1b[J` : '';
    this.out.write(`${up}${cut.join('\n')}\n`);
    this.drawn = cut.length;
  }
}

/** CI logs get a line only when something changed, stamped with the wall-clock time. */
class AppendView {
  private last = new Map<string, string>();
  constructor(private readonly out: ProgressOutput) {}

  update(state: PromotionState, now: number): void {
    const stamp = new Date(now).toISOString().slice(11, 19);
    const emit = (key: string, fingerprint: string, line: string) => {
      if (this.last.get(key) === fingerprint) return;
      this.last.set(key, fingerprint);
      this.out.write(`[${stamp}] ${line}\n`);
    };
    emit('', state.status, headerLine(state, now));
    for (const env of state.environments) {
      emit(
        `env:${env.name}`,
        envProgressLine(state.id, env, now, false),
        envProgressLine(state.id, env, now),
      );
    }
  }

  notice(text: string): void {
    if (this.last.get('notice') === text) return;
    this.last.set('notice', text);
    this.out.write(`${text}\n`);
  }
}

/**
 * Follows a promotion until it ends and returns its final state. The caller turns the state into the
 * exit code, so `promote watch`, `start --wait` and `rollback --wait` all exit the same way.
 */
export async function watchPromotion(
  client: Client,
  id: string,
  options: WatchOptions = {},
): Promise<PromotionState> {
  const out = options.out ?? process.stdout;
  const interval = options.intervalMs ?? 1_000;
  const terminal = options.json
    ? undefined
    : (options.tty ?? out.isTTY === true)
      ? new TerminalView(out)
      : undefined;
  const append = options.json || terminal ? undefined : new AppendView(out);
  let lastJson = '';
  let unanswered = 0;
  let first = true;
  for (;;) {
    let state: PromotionState;
    try {
      state = await getStatus(client, id);
      unanswered = 0;
    } catch (error) {
      if (error instanceof NotFoundError) throw error;
      // A running promotion is read through a query, which needs a worker: say so, and keep waiting.
      if (++unanswered === 3 && !options.json) {
        const text = `(no answer from a worker for ${id}: is \`promote worker\` or \`promote dev\` running? still waiting…)`;
        if (terminal) terminal.draw([text]);
        else append?.notice(text);
      }
      await sleep(interval);
      continue;
    }
    const now = Date.now();
    const done = TERMINAL_STATUSES.includes(state.status);
    if (options.json) {
      const line = JSON.stringify(state);
      if (line !== lastJson) out.write(`${line}\n`);
      lastJson = line;
    } else if (terminal) {
      terminal.draw(progressBlock(printableDeep(state), now));
    } else {
      const shown = printableDeep(state);
      // A promotion already over gets its summary once, not a replay of lines for changes never seen.
      if (!(done && first)) append?.update(shown, now);
      if (done) out.write(`${progressBlock(shown, now).join('\n')}\n`);
    }
    first = false;
    if (done) return state;
    await sleep(interval);
  }
}
