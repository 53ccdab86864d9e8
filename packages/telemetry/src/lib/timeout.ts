/**
 * `p`, or a rejection with `Error('timeout')` when it has not settled within
 * `ms`: a scrape or a readiness probe answers in bounded time however slow the
 * bus is. The timer is unref'd (a pending probe never keeps a process alive)
 * and cleared once `p` settles; `p` itself is not cancelled.
 */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
