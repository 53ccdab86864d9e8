import { setFlagsFromString } from 'node:v8';

/**
 * V8's old-generation growing factor the proxy runs with (limit = live old
 * generation × (1 + percent/100) after each mark-compact), unless the
 * operator chose one (`--heap-growing-percent` in the node flags or
 * NODE_OPTIONS).
 *
 * Why: V8 counts the external bytes allocated since the last mark-compact
 * (every Buffer a socket read or the HTTP parser creates) against the
 * old-generation headroom, and frees young Buffers only when a scavenge
 * runs, which it does once about 32 MB of them have piled up. The proxy's
 * live heap is ~40 MB (module sources and code) and allocates few JS
 * objects per body chunk, so V8's dynamic factor drops to 1.1–1.3 (a
 * headroom of 8–15 MB) after any memory-reducing collection; a large body
 * (a 200 MB registry push or pull) then exceeds that headroom every
 * ~10–30 MB and runs back-to-back mark-compacts of the whole 40 MB heap
 * (4–10 per 200 MB, about 1 s of CPU). A fixed factor of 3 keeps the
 * headroom above that pile-up (0 mark-compacts per 200 MB in the registry
 * bench), at the cost of an old generation that may reach 3× its live size
 * (~120 MB) before it is collected. See
 * src/adapters/registry/README.md, "Performance".
 */
export const HEAP_GROWING_PERCENT = 200;

/** Sets V8's heap growing factor (HEAP_GROWING_PERCENT) unless the process was started with its own; returns the percent in force, or undefined when the operator's applies. */
export function tuneHeapGrowth(execArgv: readonly string[] = process.execArgv, nodeOptions: string | undefined = process.env.NODE_OPTIONS): number | undefined {
  const flag = /--heap[-_]growing[-_]percent\b/;
  if (execArgv.some((a) => flag.test(a)) || (nodeOptions !== undefined && flag.test(nodeOptions))) return undefined;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return HEAP_GROWING_PERCENT;
}
