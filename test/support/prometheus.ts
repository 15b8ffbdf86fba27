/**
 * Reading a Prometheus text exposition as a scraper would: one sample by metric name and labels. The
 * exporter may add labels of its own, so the given labels must be among the sample's, and exactly one
 * sample may match.
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const matches: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      have.set(l[1] ?? '', l[2] ?? '');
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) matches.push(Number(m[3]));
  }
  if (matches.length > 1)
    throw new Error(`${name}${JSON.stringify(labels)} matches ${matches.length} samples`);
  return matches[0];
}

/** Fetches a Prometheus endpoint's text. */
export async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  return response.text();
}
