/**
 * A short summary of a deploy diff for a chat message: how many lines change, and the first few of
 * them. Pure, so workflow code can use it.
 */
export function diffSummary(diff: string | undefined, maxLines = 6): string | undefined {
  if (!diff) return undefined;
  const changed = diff
    .split('\n')
    .filter((line) => /^\s*[+-]/.test(line) && !/^\s*(\+\+\+|---)( |$)/.test(line))
    .map((line) => line.trimEnd());
  if (changed.length === 0) return 'no changes';
  const shown = changed
    .slice(0, maxLines)
    .map((line) => (line.length > 120 ? `${line.slice(0, 119)}…` : line));
  const more = changed.length > maxLines ? [`… ${changed.length - maxLines} more`] : [];
  return [`${changed.length} line${changed.length === 1 ? '' : 's'} changed`, ...shown, ...more].join('\n');
}
