/** Trace id of request `n` of a step: the step's 10-hex prefix (run tag + step number) and n in 22 hex digits. */
export function traceIdOf(prefix: string, n: number): string {
  return prefix + n.toString(16).padStart(22, '0');
}
