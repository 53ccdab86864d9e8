import { createHash, randomFillSync } from 'node:crypto';
import { EventError } from './errors.js';
import { decodeInt, encodeBytes, encodeInt } from './lib/crockford.js';

const MAX_TIME = 2 ** 48 - 1;
const ID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

// Process-wide state: ids are monotonic within one process, also when the wall clock steps back.
let lastTime = -1;
const lastRandom = new Uint8Array(10);

// Random bytes are drawn 4 KiB at a time: one call into the CSPRNG per 409 new milliseconds instead of per id.
const pool = new Uint8Array(4096);
let poolAt = pool.length;

/** Fills `out` with fresh random bytes from the pool. */
function fillRandom(out: Uint8Array): void {
  if (poolAt + out.length > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  out.set(pool.subarray(poolAt, poolAt + out.length));
  // Used bytes are never handed out twice.
  pool.fill(0, poolAt, poolAt + out.length);
  poolAt += out.length;
}

/** Adds one to the 80-bit big-endian counter; false on overflow. */
function increment(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 1; i >= 0; i--) {
    const v = bytes[i]!;
    if (v < 255) {
      bytes[i] = v + 1;
      return true;
    }
    bytes[i] = 0;
  }
  return false;
}

/**
 * A new event id: ULID-style, 26 Crockford base32 characters = 48-bit
 * millisecond time + 80 random bits. Within one process ids strictly
 * increase: in the same millisecond (or if the clock goes backwards) the
 * random part of the previous id is incremented, so lexicographic order is
 * generation order and, across processes, time order to the millisecond.
 *
 * @param now milliseconds since the epoch (tests); defaults to `Date.now()`.
 */
export function newEventId(now: number = Date.now()): string {
  if (!Number.isInteger(now) || now < 0 || now > MAX_TIME) {
    throw new EventError('ERR_EVENT_ID_CLOCK', 'event id time must be an integer millisecond timestamp within 48 bits');
  }
  let time = now;
  if (time <= lastTime) {
    time = lastTime;
    if (!increment(lastRandom)) {
      // 2^80 ids in one millisecond cannot happen in practice; moving to the next ms keeps order anyway.
      time = lastTime + 1;
      fillRandom(lastRandom);
    }
  } else {
    fillRandom(lastRandom);
  }
  lastTime = time;
  return encodeInt(time, 10) + encodeBytes(lastRandom);
}

/** True when `id` has the shape of an event id (26 Crockford base32 characters, upper case). */
export function isEventId(id: unknown): id is string {
  return typeof id === 'string' && ID_RE.test(id);
}

/** The millisecond timestamp encoded in an event id. Throws ERR_EVENT_INVALID for a malformed id. */
export function eventIdTime(id: string): number {
  if (!isEventId(id)) throw new EventError('ERR_EVENT_INVALID', 'not an event id');
  return decodeInt(id.slice(0, 10));
}

/**
 * A deterministic event id: the time part of `timeMs` and 80 bits of
 * SHA-256 over `parts`. Two writers that record the same fact (e.g. the
 * decision of an approval, written by the deciding proxy and again by the
 * holding one) derive the same id, so the stream's `Nats-Msg-Id`
 * de-duplication and the index's create-only writes keep one copy.
 * `parts` must name the fact uniquely (e.g. `['approval', id, 'approved']`).
 */
export function derivedEventId(timeMs: number, parts: readonly string[]): string {
  if (!Number.isInteger(timeMs) || timeMs < 0 || timeMs > MAX_TIME) {
    throw new EventError('ERR_EVENT_ID_CLOCK', 'event id time must be an integer millisecond timestamp within 48 bits');
  }
  if (parts.length === 0) throw new EventError('ERR_EVENT_INVALID', 'a derived event id needs at least one part');
  const digest = createHash('sha256').update(parts.join('\0')).digest();
  return encodeInt(timeMs, 10) + encodeBytes(digest.subarray(0, 10));
}
