import { BusError } from '../errors.js';
import type { StreamFill, StreamInfo } from '../types.js';

const limit = (v: number | undefined): number | null => (v === undefined || v < 0 ? null : v);

/** The fill level of a stream from its state and its limits (negative or absent: unlimited). */
export function fillOf(info: StreamInfo, limits: { maxMsgs?: number | undefined; maxBytes?: number | undefined }): StreamFill {
  const maxMsgs = limit(limits.maxMsgs);
  const maxBytes = limit(limits.maxBytes);
  const ratio = Math.max(maxMsgs ? info.messages / maxMsgs : 0, maxBytes ? info.bytes / maxBytes : 0);
  return { stream: info.name, retention: info.retention, messages: info.messages, bytes: info.bytes, maxMsgs, maxBytes, ratio: Math.min(1, ratio) };
}

/** The ERR_STREAM_RETENTION text: what differs, what is still pending, and what to do (the README's migration step). */
export function notDrainedMessage(
  stream: string,
  have: StreamInfo['retention'],
  want: StreamInfo['retention'],
  messages: number,
  pending: ReadonlyArray<{ consumer: string; pending: number; ackPending: number }>,
  covered: boolean,
): string {
  const what =
    pending.length > 0
      ? `consumer(s) ${pending.map((p) => `${p.consumer} (${p.pending} pending, ${p.ackPending} unacked)`).join(', ')} have not processed all of its ${messages} message(s)`
      : !covered
        ? `no consumer has read its ${messages} message(s)`
        : `it holds ${messages} message(s)`;
  return (
    `stream ${stream} has retention "${have}" but this version needs "${want}", which JetStream cannot change in place; ` +
    `it is recreated automatically once drained, but ${what}. ` +
    'Stop the proxies, let the masking service and the audit writer process what is pending, then start again ' +
    '(README: "Upgrading the audit streams")'
  );
}

/** Runs `attempt` again while it fails with ERR_STREAM_RETENTION (consumers still draining), up to `waitMs`. */
export async function retryWhileDraining<T>(attempt: () => Promise<T>, waitMs: number | undefined): Promise<T> {
  const deadline = Date.now() + (waitMs ?? 0);
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof BusError) || err.code !== 'ERR_STREAM_RETENTION' || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.min(500, Math.max(1, deadline - Date.now()))));
    }
  }
}
