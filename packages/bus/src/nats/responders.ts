import { setTimeout as sleep } from 'node:timers/promises';
import { busCodeOf } from './errors-map.js';

/**
 * How long a KV operation waits for its responders to appear: a bucket just
 * created on a cluster (its replicas subscribe to direct gets one by one,
 * and the interest reaches the other nodes over the routes a moment later)
 * or a stream leader being elected answers "no responders" for that long.
 */
export const RESPONDER_GRACE_MS = 2_000;

/**
 * Runs `op`, again while it fails with "no responders" (backing off from
 * 25 ms to 250 ms) until `graceMs` has passed; then the last error is
 * thrown as it came. Only for operations that "no responders" proves were
 * not applied: nobody received the request, so nothing was read or stored.
 */
export async function withResponders<T>(op: () => Promise<T>, graceMs = RESPONDER_GRACE_MS): Promise<T> {
  const until = Date.now() + graceMs;
  for (let wait = 25; ; wait = Math.min(wait * 2, 250)) {
    try {
      return await op();
    } catch (err) {
      if (busCodeOf(err) !== 'ERR_BUS_NO_RESPONDER' || Date.now() + wait > until) throw err;
      await sleep(wait);
    }
  }
}
