import type { Finding } from '../types.js';
import type { Span } from './scanner.js';

/** Counts findings by (type, ref, path); never stores the masked value. */
export class FindingTally {
  private readonly counts = new Map<string, { type: string; ref: string | undefined; path: string | undefined; count: number }>();
  /** Sum of all counts. */
  total = 0;

  add(type: string, ref: string | undefined, path?: string, n = 1): void {
    this.total += n;
    const key = `${type}\u0000${ref ?? ''}\u0000${path ?? ''}`;
    const cur = this.counts.get(key);
    if (cur) cur.count += n;
    else this.counts.set(key, { type, ref, path, count: n });
  }

  addSpans(spans: readonly Span[], path?: string): void {
    for (const sp of spans) for (const h of sp.hits) this.add(h.type, h.ref, path);
  }

  addAll(findings: readonly Finding[], path?: string): void {
    for (const f of findings) this.add(f.type, f.ref, path ?? f.path, f.count);
  }

  list(): Finding[] {
    return [...this.counts.values()].map(({ type, ref, path, count }) => ({
      type,
      ...(ref !== undefined ? { ref } : {}),
      count,
      ...(path !== undefined ? { path } : {}),
    }));
  }
}
