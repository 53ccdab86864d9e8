/**
 * Runs `stop` once on SIGTERM/SIGINT and exits when it settles: services drain
 * (handlers in flight finish, then the bus closes) instead of dying mid-message.
 */
export function onShutdown(stop: (signal: string) => Promise<void>, opts: { exit?: boolean; timeoutMs?: number } = {}): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), opts.timeoutMs ?? 30_000);
    force.unref();
    stop(signal)
      .then(() => {
        if (opts.exit !== false) process.exit(0);
      })
      .catch(() => {
        if (opts.exit !== false) process.exit(1);
      });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
