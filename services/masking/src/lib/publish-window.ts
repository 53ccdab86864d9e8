/**
 * Runs `work(item)` for each item in order with at most `limit` running at
 * once. Work is started in item order (so publishes leave in order on one
 * connection); after the first failure no further item is started and the
 * rest go to `skip` (so a later event never overtakes a failed one by more
 * than the window already in flight).
 */
export async function inOrderWindow<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  skip: (item: T) => void,
): Promise<{ failed: number; skipped: number }> {
  const running = new Set<Promise<void>>();
  let failed = 0;
  let skipped = 0;
  for (const item of items) {
    while (running.size >= limit) await Promise.race(running);
    if (failed > 0) {
      skip(item);
      skipped++;
      continue;
    }
    const p: Promise<void> = work(item).then(
      () => {
        running.delete(p);
      },
      () => {
        failed++;
        running.delete(p);
      },
    );
    running.add(p);
  }
  await Promise.all(running);
  return { failed, skipped };
}
