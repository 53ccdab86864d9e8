import { derivedEventId, eventIdTime, isEventId } from '@agentgate/events';

/** The largest time an event id holds (48 bits of milliseconds). */
const MAX_TIME = 2 ** 48 - 1;

/**
 * The id of the exposure event for (source event, secret ref): same shape as
 * an event id (26 Crockford characters), with the source's time part so it
 * sorts beside its source, and 80 bits of SHA-256(source id, ref) so that
 * every redelivery of the source yields the same id (de-duplicated by the
 * stream) while two refs of one event never collide in practice. It is an
 * event id derived from `['exposure', sourceId, ref]` (`derivedEventId`: one
 * Crockford encoder, in @agentgate/events). A source id that is not event-id
 * shaped takes the time from `sourceTimeMs`, clamped to 0..2^48-1 and floored.
 */
export function exposureEventId(sourceId: string, ref: string, sourceTimeMs: number): string {
  const time = isEventId(sourceId) ? eventIdTime(sourceId) : Number.isFinite(sourceTimeMs) ? Math.min(MAX_TIME, Math.max(0, Math.floor(sourceTimeMs))) : 0;
  return derivedEventId(time, ['exposure', sourceId, ref]);
}
