import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ActionEventInput } from '@agentgate/events';
import type { Finding } from '@agentgate/masking';
import type { Dispatcher } from 'undici';
import type { Adapter, AdapterRequest, Classification, ObservedFields, ResponseObserver } from '../adapters/types.js';
import { ProxyError, toProxyError } from '../errors.js';
import { ByteCounter } from '../lib/body-limit.js';
import { downstreamResponseHeaders } from '../lib/headers.js';
import type { Lease } from '../lib/ports.js';
import { sendError } from '../lib/respond.js';
import { IDLE_FLUSH_MS, IdleFlushMask } from './idle-flush-mask.js';
import { DecodedLimit, decodersFor, isDecodeError, maskHeaders, mergeFindings } from './mask.js';
import { upstreamError } from './forward.js';
import type { ProxyRuntime } from './runtime.js';

export interface ResponseOutcome {
  /** Bytes sent to the client (after masking). */
  bytesOut: number;
  /** Bytes received from upstream (before decoding). */
  bytesUpstream: number;
  masking: { count: number; findings: Array<{ type: string; ref?: string; count: number }> };
  observed: ObservedFields;
  /** Set when the response failed after it started (the client saw a cut-off body). */
  error?: ProxyError;
  /** The status the client got when it differs from the upstream's (a refusal sent instead of the body). */
  clientStatus?: number;
}

function bodyless(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * Streams the upstream response to the client: hop-by-hop headers dropped,
 * every header and body byte masked for the leased credential (decoded
 * first when compressed; the body of a classification marked `verbatimBody`,
 * a content-addressed registry blob, is passed as is), with backpressure end
 * to end (stream.pipeline).
 * Errors before the head is written are thrown (the caller answers with a
 * clean error); after that the client connection is cut, since a partial
 * body cannot be turned into an error response. A decoded body's head waits
 * for its first decoded chunk, so a corrupt or bomb-sized start is answered
 * here with a clean 502 (and reported in `error`) instead of a cut 200.
 */
export async function streamResponse(
  rt: ProxyRuntime,
  x: {
    req: IncomingMessage;
    res: ServerResponse;
    upstream: Dispatcher.ResponseData;
    lease: Lease | undefined;
    adapter: Adapter;
    areq: AdapterRequest;
    classification: Classification;
    connection: string;
    /** For the error body of a refusal sent from here ('-' when the caller does not pass it). */
    requestId?: string;
  },
): Promise<ResponseOutcome> {
  const { res, upstream } = x;
  let observer: ResponseObserver | undefined;
  try {
    observer = x.adapter.observeResponse?.(x.areq, x.classification, { status: upstream.statusCode, headers: downstreamResponseHeaders(upstream.headers) });
  } catch (err) {
    // The adapter refuses this response (e.g. a media type it cannot mask): nothing of it reaches the client.
    upstream.body.destroy();
    throw err;
  }
  const small = observer ? undefined : await smallResponse(rt, x);
  if (small) return small;
  const head = responseHead(x);
  let headers = head.headers;
  // The observer may rewrite the body (masking): its length is no longer the upstream's.
  if (observer) delete headers['content-length'];
  const upstreamCount = new ByteCounter();
  const outCount = new ByteCounter();
  const stages: Transform[] = [upstreamCount];
  const findings: Finding[][] = [];
  const noBody = bodyless(x.areq.method, upstream.statusCode);
  let maskStage: (Transform & { findings(): Finding[] }) | undefined;
  let decoding = false;
  if (x.lease) {
    const masker = rt.maskerFor(x.lease);
    if (!noBody && !x.classification.verbatimBody) {
      let decoders: Transform[];
      try {
        decoders = decodersFor(headers['content-encoding']);
      } catch (err) {
        upstream.body.destroy();
        throw err;
      }
      // Masking changes the length; the body goes out chunked.
      delete headers['content-length'];
      // A watch or followed log must not sit in the redactor's hold-back while the upstream is quiet.
      maskStage = x.classification.longRunning ? new IdleFlushMask(masker, IDLE_FLUSH_MS) : masker.transform();
      if (decoders.length > 0) {
        delete headers['content-encoding'];
        decoding = true;
        const limit = new DecodedLimit(rt.config.gateway.limits.maxDecodedBytes, x.connection, () => {
          if (!res.headersSent) res.flushHeaders();
        });
        stages.push(...decoders, limit);
      }
      stages.push(maskStage);
    }
    const masked = maskHeaders(masker, headers);
    headers = masked.headers;
    findings.push(masked.findings);
  }
  if (observer) stages.push(observer.transform);
  if (observer?.head) {
    try {
      headers = await observer.head(upstream.statusCode, headers);
    } catch (err) {
      upstream.body.destroy();
      throw err;
    }
  }
  stages.push(outCount);

  let error: ProxyError | undefined;
  let clientStatus: number | undefined;
  if (noBody) {
    res.writeHead(upstream.statusCode, headers);
    upstream.body.resume();
    res.end();
  } else if (!decoding) {
    res.writeHead(upstream.statusCode, headers);
    try {
      await pipeline([upstream.body as Readable, ...stages, res]);
    } catch (err) {
      error = toProxyError(upstreamError(x.connection, err));
      res.destroy();
      upstream.body.destroy();
    }
  } else {
    // The head is set but not sent: it goes out with the first decoded chunk (DecodedLimit) or the end.
    res.statusCode = upstream.statusCode;
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    try {
      await pipeline([upstream.body as Readable, ...stages, new ResponseSink(res)]);
    } catch (err) {
      error = isDecodeError(err)
        ? new ProxyError('ERR_UPSTREAM_FAILED', `connection "${x.connection}": the upstream's compressed body is corrupt or truncated`, { cause: err })
        : toProxyError(upstreamError(x.connection, err));
      upstream.body.destroy();
      if (res.headersSent || res.destroyed) res.destroy();
      else {
        // Nothing of this body reached the client: it gets a clean refusal instead of a cut-off 200.
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        sendError(x.req, res, error, { connection: x.connection, requestId: x.requestId ?? '-', adapter: x.adapter });
        clientStatus = error.status;
      }
    }
  }
  if (maskStage) findings.push(maskStage.findings());
  if (observer?.findings) findings.push(observer.findings());
  return {
    bytesOut: outCount.bytes,
    bytesUpstream: upstreamCount.bytes,
    masking: mergeFindings(findings),
    observed: { ...head.audit, ...(observer ? observer.finish() : {}) },
    ...(error && { error }),
    ...(clientStatus !== undefined && { clientStatus }),
  };
}

/**
 * The pipeline's last stage for decoded bodies: writes into the response
 * with backpressure, but unlike piping into `res` itself, a failed pipeline
 * destroys only this sink, so a refusal can still be sent when the head has
 * not gone out. A client that goes away fails the pipeline as before.
 */
class ResponseSink extends Writable {
  readonly #res: ServerResponse;
  constructor(res: ServerResponse) {
    super();
    this.#res = res;
    res.once('close', () => {
      if (!res.writableFinished) this.destroy(new Error('the client connection closed'));
    });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#res.write(chunk)) cb();
    else this.#res.once('drain', () => cb());
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.#res.end(() => cb());
  }
}

/** Bodies up to this size, declared by Content-Length and not encoded, are masked whole instead of streamed. */
export const SMALL_BODY_BYTES = 64 * 1024;

/**
 * Fast path for the common small API answer: read the declared-length body
 * (bounded by SMALL_BODY_BYTES, so memory stays bounded), mask it in one
 * pass and send it with its new length. Same masking as the stream, without
 * the per-request cost of a stream pipeline. Returns undefined when the
 * response does not qualify (unknown or large length, encoded); the caller
 * streams it, and never asks for a response the adapter observes.
 */
async function smallResponse(rt: ProxyRuntime, x: Parameters<typeof streamResponse>[1]): Promise<ResponseOutcome | undefined> {
  const { res, upstream } = x;
  if (bodyless(x.areq.method, upstream.statusCode)) return undefined;
  const h = upstream.headers;
  const cl = h['content-length'];
  const enc = h['content-encoding'];
  if (typeof cl !== 'string' || !/^\d{1,6}$/.test(cl) || Number(cl) > SMALL_BODY_BYTES) return undefined;
  if (enc !== undefined && String(enc).toLowerCase() !== 'identity') return undefined;
  let body: Uint8Array;
  try {
    body = new Uint8Array(await upstream.body.arrayBuffer());
  } catch (err) {
    throw upstreamError(x.connection, err);
  }
  const head = responseHead(x);
  let headers = head.headers;
  const findings: Finding[][] = [];
  let out = body;
  if (x.lease) {
    const masker = rt.maskerFor(x.lease);
    const masked = maskHeaders(masker, headers);
    headers = masked.headers;
    findings.push(masked.findings);
    if (!x.classification.verbatimBody) {
      const b = masker.maskBytes(body);
      out = b.bytes;
      findings.push(b.findings);
    }
  }
  headers['content-length'] = String(out.length);
  res.writeHead(upstream.statusCode, headers);
  res.end(out);
  return { bytesOut: out.length, bytesUpstream: body.length, masking: mergeFindings(findings), observed: { ...head.audit } };
}

/**
 * The response head the client gets, before masking: hop-by-hop headers
 * dropped, then the adapter's rewrite (a registry's Location and Link). An
 * adapter refusal drops the upstream body and is thrown before anything
 * was written, so the client gets a clean error.
 */
function responseHead(x: Parameters<typeof streamResponse>[1]): { headers: Record<string, string | string[]>; audit?: Pick<ActionEventInput, 'registry'> } {
  const headers = downstreamResponseHeaders(x.upstream.headers);
  if (!x.adapter.responseHead) return { headers };
  try {
    return x.adapter.responseHead(x.areq, x.classification, { status: x.upstream.statusCode, headers });
  } catch (err) {
    x.upstream.body.destroy();
    throw err;
  }
}
