import { RemoteError, type WireError, toWireError } from '../errors.js';
import type { Headers, Msg, RequestHandler } from '../types.js';
import { SERVICE_ERROR_CODE_HEADER, SERVICE_ERROR_HEADER, decodeJson, encodeJson } from './codec.js';

export interface Reply {
  data: Uint8Array;
  headers: Headers;
}

/** Runs a JSON endpoint handler and shapes its reply (error replies carry `{code, message}`). */
export async function runHandler(handler: RequestHandler, msg: Msg): Promise<{ reply: Reply; failed: boolean }> {
  try {
    const req = msg.data.length === 0 ? undefined : decodeJson<unknown>(msg.data);
    const res = await handler(req, msg);
    return { reply: { data: encodeJson(res === undefined ? null : res), headers: {} }, failed: false };
  } catch (err) {
    const wire = toWireError(err);
    return {
      reply: {
        data: encodeJson(wire),
        // The message may quote request data (identity quotes a token's iss): the header gets a one-line ASCII
        // form, since a CR or LF makes the NATS client throw instead of replying; the body keeps the whole text.
        headers: { [SERVICE_ERROR_HEADER]: headerSafe(wire.message), [SERVICE_ERROR_CODE_HEADER]: '500' },
      },
      failed: true,
    };
  }
}

/** One line of visible ASCII, bounded: safe as a NATS (or HTTP) header value. */
function headerSafe(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/gu, '?').trim();
  return clean.length > 0 ? clean.slice(0, 256) : 'error';
}

/** Turns a reply into the result or the remote's typed error. */
export function unwrapReply<T>(msg: Msg): T {
  const errText = findHeader(msg.headers, SERVICE_ERROR_HEADER);
  if (errText !== undefined) {
    let wire: Partial<WireError> = {};
    try {
      wire = decodeJson<WireError>(msg.data);
    } catch {
      // a non-JSON error body from a foreign service: keep the header text
    }
    throw new RemoteError(wire.code ?? 'ERR_REMOTE', wire.message ?? errText, wire.details);
  }
  return decodeJson<T>(msg.data);
}

function findHeader(headers: Headers, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}
