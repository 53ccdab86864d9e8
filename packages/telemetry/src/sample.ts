/**
 * The value of one sample of a Prometheus text exposition: the first line
 * of `name` whose labels include all of `labels`; 0 when there is none (a
 * counter never incremented is not exposed). For tests that scrape.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const have = (m[1] ?? '').split(',');
    if (want.every((w) => have.includes(w))) return Number(m[2]);
  }
  return 0;
}
