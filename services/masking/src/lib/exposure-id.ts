import { createHash } from 'node:crypto';
import { isEventId } from '@agentgate/events';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encodeTime(ms: number): string {
  let out = '';
  let v = Math.max(0, Math.min(ms, 2 ** 48 - 1));
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[v % 32]! + out;
    v = Math.floor(v / 32);
  }
  return out;
}

/**
 * The id of the exposure event for (source event, secret ref): same shape as
 * an event id (26 Crockford characters), with the source's time part so it
 * sorts beside its source, and 80 bits of SHA-256(source id, ref) so that
 * every redelivery of the source yields the same id (de-duplicated by the
 * stream) while two refs of one event never collide in practice.
 */
export function exposureEventId(sourceId: string, ref: string, sourceTimeMs: number): string {
  const time = isEventId(sourceId) ? sourceId.slice(0, 10) : encodeTime(Number.isFinite(sourceTimeMs) ? sourceTimeMs : 0);
  const digest = createHash('sha256').update(`exposure\0${sourceId}\0${ref}`).digest();
  let bits = 0n;
  for (let i = 0; i < 10; i++) bits = (bits << 8n) | BigInt(digest[i]!);
  let rand = '';
  for (let i = 0; i < 16; i++) {
    rand = CROCKFORD[Number(bits & 31n)]! + rand;
    bits >>= 5n;
  }
  return time + rand;
}
