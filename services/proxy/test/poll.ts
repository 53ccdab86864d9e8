/**
 * Polls `fn` every 50 ms until it returns a value, and resolves with it; rejects with
 * `timed out waiting for <what>` after `timeoutMs`. For what is recorded just after a
 * response (completed events), which a test cannot await directly.
 */
export async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
