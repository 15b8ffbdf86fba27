import { styleText } from 'node:util';
import type { PromotionState } from '../common/types.js';
import { printable } from './printable.js';

/** How much of a diff `promote status` shows before pointing at `promote diff`. */
export const STATUS_DIFF_LINES = 40;

/**
 * Colour only for a person at a terminal, with the common conventions: NO_COLOR turns it off,
 * FORCE_COLOR (other than 0) turns it on even through a pipe.
 */
export function wantsColor(stream: { isTTY?: boolean } = process.stdout): boolean {
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  if (process.env.NO_COLOR) return false;
  return stream.isTTY === true;
}

// wantsColor decided already; newer Node versions would otherwise check the stream again.
const style = (format: 'bold' | 'green' | 'red' | 'cyan', line: string) =>
  styleText(format, line, { validateStream: false });

function colorLine(line: string): string {
  if (line.startsWith('+++') || line.startsWith('---')) return style('bold', line);
  if (line.startsWith('+')) return style('green', line);
  if (line.startsWith('-')) return style('red', line);
  if (line.startsWith('@@')) return style('cyan', line);
  return line;
}

/** A deploy diff as lines, coloured like `git diff` on a terminal. */
export function diffLines(diff: string, color: boolean): string[] {
  // The diff is the deploy tool's output about files anyone may edit: stripped before our colouring.
  const lines = printable(diff).replace(/\s+$/, '').split('\n');
  return color ? lines.map(colorLine) : lines;
}

/**
 * What `promote status` adds for an environment waiting for approval: its diff, so whoever approves
 * sees what they approve. Long diffs are cut with a note naming the command that shows all of it.
 */
export function waitingDiffSection(
  state: PromotionState,
  options: { color?: boolean; maxLines?: number } = {},
): string[] {
  const waiting = state.environments.find((e) => e.status === 'waiting-approval');
  if (!waiting) return [];
  const max = options.maxLines ?? STATUS_DIFF_LINES;
  if (waiting.diff === undefined || waiting.diff.trim() === '') {
    return [`  diff for ${waiting.name}: ${waiting.diff === undefined ? '(none recorded)' : '(no changes)'}`];
  }
  const lines = diffLines(waiting.diff, options.color ?? false);
  const shown = lines.slice(0, max).map((l) => `    ${l}`);
  const more = lines.length - shown.length;
  const note =
    more > 0
      ? [`    … ${more} more line${more === 1 ? '' : 's'}: promote diff ${state.id} --env ${waiting.name}`]
      : [];
  return [`  diff for ${waiting.name} (what approving deploys):`, ...shown, ...note];
}
