import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ActionEventInput } from '@agentgate/events';
import type { Finding, Masker } from '@agentgate/masking';
import type { Dispatcher } from 'undici';
import type { Adapter, AdapterRequest, Classification, ObservedFields, ResponseObserver } from '../adapters/types.js';
import { ProxyError, toProxyError } from '../errors.js';
import { countBytes } from '../lib/body-limit.js';
import { downstreamResponseHeaders } from '../lib/headers.js';
import { sendError } from '../lib/respond.js';
import { bodyKindOf, mediaType } from './archive.js';
import { IDLE_FLUSH_MS, IdleFlushMask } from './idle-flush-mask.js';
import { codingsOf, DecodedLimit, isDecodeError, maskHeaders, mergeFindings } from './mask.js';
import { type BodyPlan, planBody } from './response-plan.js';
import { recordTerminators, SseMasker } from './sse-mask.js';
import { GzipVerifier } from './verify-gzip.js';
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
  /** Audit labels on how the body was inspected (`response_inspected: false` when passed unread, `error_code`…). */
  labels?: Record<string, string | number | boolean>;
}

function bodyless(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

type StreamArgs = {
  req: IncomingMessage;
  res: ServerResponse;
  upstream: Dispatcher.ResponseData;
  /** The connection's response masker (see response-masker.ts); undefined: nothing to mask. */
  masker: Masker | undefined;
  adapter: Adapter;
  areq: AdapterRequest;
  classification: Classification;
  connection: string;
  /** For the error body of a refusal sent from here ('-' when the caller does not pass it). */
  requestId?: string;
};

/**
 * Streams the upstream response to the client: hop-by-hop headers dropped,
 * every header and body byte masked with the connection's response masker
 * (decoded first when a transfer or content coding compresses it; the body
 * of a classification marked `verbatimBody`, a content-addressed registry
 * blob, is passed as is), then given to the adapter's observer (its head
 * hook, transform and findings), with
 * backpressure end to end (stream.pipeline). A body the gateway cannot read
 * (an unknown coding; on http and llm connections a compressed archive) is
 * refused or passed unchanged per the connection's `uninspectable`, and a
 * gzip file sent as data is checked and forwarded unchanged (see
 * response-plan.ts). Errors before the head is written are thrown (the
 * caller answers with a clean error); after that the client connection is
 * cut, since a partial body cannot be turned into an error response. A
 * decoded or checked body's head waits for its first byte, so a corrupt,
 * bomb-sized or secret-holding start is answered here with a clean 502
 * (and reported in `error`) instead of a cut 200.
 */
export async function streamResponse(rt: ProxyRuntime, x: StreamArgs): Promise<ResponseOutcome> {
  const { upstream, masker } = x;
  const noBody = bodyless(x.areq.method, upstream.statusCode);
  const observer = observerOf(x);
  const small = noBody || observer ? undefined : await smallResponse(x);
  if (small) return small;
  const s = new StreamedResponse(x, observer, noBody);
  if (noBody) return s.sendBodyless();
  // A content-addressed body (a registry blob) is verified by its digest downstream: never rewritten, and the record says so.
  if (!masker || x.classification.verbatimBody)
    return s.done(await send(x, upstream.body as Readable, await s.observe(), [], 'now', observer), masker ? VERBATIM_LABELS : undefined);
  let planned: { plan: BodyPlan; body: Readable };
  try {
    planned = await planBody(upstream.headers, upstream.body as Readable, x.areq.connection);
  } catch (err) {
    upstream.body.destroy();
    throw upstreamError(x.connection, err);
  }
  const { plan, body } = planned;
  if (plan.how === 'uninspectable') return s.sendUninspectable(plan, body);
  if (plan.how === 'verify') return s.sendVerified(masker, plan, body, rt.config.gateway.limits.maxDecodedBytes);
  return s.sendMasked(masker, plan, body, rt.config.gateway.limits.maxDecodedBytes);
}

/** The adapter's observer of this response; an adapter that refuses it (a media type it cannot mask) drops the body and throws. */
function observerOf(x: StreamArgs): ResponseObserver | undefined {
  try {
    return x.adapter.observeResponse?.(x.areq, x.classification, { status: x.upstream.statusCode, headers: downstreamResponseHeaders(x.upstream.headers) });
  } catch (err) {
    // The adapter refuses this response (e.g. a media type it cannot mask): nothing of it reaches the client.
    x.upstream.body.destroy();
    throw err;
  }
}

/**
 * A streamed response's state: the head as it will go out (hop-by-hop
 * headers dropped, the adapter's rewrite, masked), the findings so far, and
 * the adapter's observer. Each `send…` method is one way a body goes out
 * (see BodyPlan); `done` turns what was sent into the outcome.
 */
export class StreamedResponse {
  headers: Record<string, string | string[]>;
  readonly findings: Finding[][] = [];
  readonly #x: StreamArgs;
  readonly #observer: ResponseObserver | undefined;
  readonly #audit: Pick<ActionEventInput, 'registry'> | undefined;

  constructor(x: StreamArgs, observer: ResponseObserver | undefined, noBody: boolean) {
    this.#x = x;
    this.#observer = observer;
    const head = responseHead(x);
    this.#audit = head.audit;
    this.headers = head.headers;
    // The observer may rewrite the body (masking): its length is no longer the upstream's.
    if (observer && !noBody) delete this.headers['content-length'];
    if (x.masker) {
      const masked = maskHeaders(x.masker, this.headers);
      this.headers = masked.headers;
      this.findings.push(masked.findings);
    }
  }

  /** The head as it goes out, after the body plan dropped codings and length, seen by the observer (which may refuse it). */
  async observe(): Promise<Record<string, string | string[]>> {
    const h = this.headers;
    if (!this.#observer?.head) return h;
    try {
      return await this.#observer.head(this.#x.upstream.statusCode, h);
    } catch (err) {
      this.#x.upstream.body.destroy();
      throw err;
    }
  }

  /** The outcome of what was sent, with every finding (headers, body stages, observer). */
  done(r: Sent, labels?: ResponseOutcome['labels']): ResponseOutcome {
    if (this.#observer?.findings) this.findings.push(this.#observer.findings());
    return {
      bytesOut: r.bytesOut,
      bytesUpstream: r.bytesUpstream,
      masking: mergeFindings(this.findings),
      observed: { ...this.#audit, ...r.observed },
      ...(r.error && { error: r.error }),
      ...(r.clientStatus !== undefined && { clientStatus: r.clientStatus }),
      ...(labels && { labels }),
    };
  }

  /** HEAD, 204, 304, 1xx: the head alone. */
  async sendBodyless(): Promise<ResponseOutcome> {
    const { res, upstream } = this.#x;
    res.writeHead(upstream.statusCode, await this.observe());
    upstream.body.resume();
    res.end();
    return this.done({ bytesOut: 0, bytesUpstream: 0, observed: this.#observer ? this.#observer.finish() : {} });
  }

  /** A body the gateway cannot read: refused, or passed as it came (codings kept) per the connection's `uninspectable`. */
  async sendUninspectable(plan: Extract<BodyPlan, { how: 'uninspectable' }>, body: Readable): Promise<ResponseOutcome> {
    const x = this.#x;
    if (x.areq.connection.uninspectable === 'refuse') {
      x.upstream.body.destroy();
      sendError(x.req, x.res, plan.error, { connection: x.connection, requestId: x.requestId ?? '-', adapter: x.adapter });
      const refused = { bytesOut: 0, bytesUpstream: 0, observed: {}, error: plan.error, clientStatus: plan.error.status };
      return this.done(refused, { response_inspected: false, response_uninspected: plan.reason, error_code: plan.error.code });
    }
    // Passed as it came (uninspectable: pass): codings kept, so the client can still read it; the trail says so.
    const te = codingsOf(x.upstream.headers['transfer-encoding']);
    if (te.length > 0) this.headers['transfer-encoding'] = [...te, 'chunked'].join(', ');
    return this.done(await send(x, body, await this.observe(), [], 'now', this.#observer), { response_inspected: false, response_uninspected: plan.reason });
  }

  /** A gzip file sent as data: checked (decoded on the side, masked for findings) and forwarded unchanged. */
  async sendVerified(masker: Masker, plan: Extract<BodyPlan, { how: 'verify' }>, body: Readable, limit: number): Promise<ResponseOutcome> {
    const x = this.#x;
    const verifier = new GzipVerifier(masker, limit, x.connection);
    if (plan.decoders.length > 0) stripEncoding(this.headers);
    const stages = [...plan.decoders, ...limitAfter(plan.decoders, limit, x.connection), verifier];
    const r = await send(x, body, await this.observe(), stages, 'first-byte', this.#observer);
    this.findings.push(verifier.findings());
    return this.done(r, { response_verified: 'gzip', ...(r.error && { error_code: r.error.code }) });
  }

  /** The usual case: decoded if a coding compresses it, masked, sent chunked. */
  async sendMasked(masker: Masker, plan: Extract<BodyPlan, { how: 'mask' }>, body: Readable, limit: number): Promise<ResponseOutcome> {
    const x = this.#x;
    const { res } = x;
    // Masking changes the length; the body goes out chunked.
    delete this.headers['content-length'];
    if (plan.decoders.length > 0) delete this.headers['content-encoding'];
    // Event streams and JSON lines are masked record by record, so a model's answer is not held back by the redactor's window.
    const terminators = recordTerminators(mediaType(x.upstream.headers['content-type']));
    // A watch or followed log must not sit in the redactor's hold-back while the upstream is quiet.
    const maskStage = terminators
      ? new SseMasker(masker, { terminators })
      : x.classification.longRunning
        ? new IdleFlushMask(masker, IDLE_FLUSH_MS)
        : masker.transform();
    const decoded = plan.decoders.length > 0;
    // A decoded body's head goes out once its first decoded chunk passed the size bound (masking may hold bytes back longer).
    const flush = (): void => {
      if (!res.headersSent) res.flushHeaders();
    };
    const out = await this.observe();
    const r = await send(
      x,
      body,
      out,
      [...plan.decoders, ...limitAfter(plan.decoders, limit, x.connection, flush), maskStage],
      decoded ? 'first-byte' : 'now',
      this.#observer,
    );
    this.findings.push(maskStage.findings());
    return this.done(r, r.error ? { error_code: r.error.code } : undefined);
  }
}

/** Content-Encoding and Content-Length of a body sent decoded. */
function stripEncoding(headers: Record<string, string | string[]>): void {
  delete headers['content-encoding'];
  delete headers['content-length'];
}

/** The decoded-size bound after decoders (none without them). */
function limitAfter(decoders: Transform[], max: number, connection: string, onFirstChunk?: () => void): Transform[] {
  return decoders.length > 0 ? [new DecodedLimit(max, connection, onFirstChunk)] : [];
}

interface Sent {
  bytesOut: number;
  bytesUpstream: number;
  observed: ResponseOutcome['observed'];
  error?: ProxyError;
  clientStatus?: number;
}

/**
 * Runs `body` (the upstream's) → `stages` → adapter observer (if any) → client. With `head:
 * 'now'` the head is written first and a failure cuts the connection; with
 * `'first-byte'` it goes out with the first byte the stages let through, so
 * a failure before that is answered with a clean refusal instead.
 */
async function send(
  x: StreamArgs,
  body: Readable,
  headers: Record<string, string | string[]>,
  stages: Transform[],
  head: 'now' | 'first-byte',
  observer: ResponseObserver | undefined,
): Promise<Sent> {
  const { res, upstream } = x;
  const all = [...stages, ...(observer ? [observer.transform] : [])];
  // Counted beside the pipe, not by stages of their own: a blob that goes out as it came crosses no stage at all.
  const upstreamCount = countBytes(body);
  const last = all.at(-1);
  const outCount = last ? countBytes(last) : upstreamCount;
  const result = (): Sent => ({ bytesOut: outCount.bytes, bytesUpstream: upstreamCount.bytes, observed: observer ? observer.finish() : {} });
  if (head === 'now') {
    res.writeHead(x.upstream.statusCode, headers);
    try {
      await pipeline([body, ...all, res]);
      return result();
    } catch (err) {
      res.destroy();
      upstream.body.destroy();
      return { ...result(), error: toProxyError(upstreamError(x.connection, err)) };
    }
  }
  // The head is set but not sent: it goes out with the first byte the stages release, or the end.
  res.statusCode = upstream.statusCode;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  try {
    await pipeline([body, ...all, new ResponseSink(res)]);
    return result();
  } catch (err) {
    const error = isDecodeError(err)
      ? new ProxyError('ERR_UPSTREAM_FAILED', `connection "${x.connection}": the upstream's compressed body is corrupt or truncated`, { cause: err })
      : toProxyError(upstreamError(x.connection, err));
    upstream.body.destroy();
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return { ...result(), error };
    }
    // Nothing of this body reached the client: it gets a clean refusal instead of a cut-off 200.
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    sendError(x.req, res, error, { connection: x.connection, requestId: x.requestId ?? '-', adapter: x.adapter });
    return { ...result(), error, clientStatus: error.status };
  }
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

/** Bodies up to this size are sent with their head in one write (a latin1 copy costs less than node's writev path). */
const ONE_WRITE_BYTES = 4096;

/**
 * Fast path for the common small API answer: read the declared-length body
 * (bounded by SMALL_BODY_BYTES, so memory stays bounded), mask it in one
 * pass with the same masker and send it with its new length: the same
 * masking as the stream, without the per-request cost of a stream
 * pipeline. Returns undefined when the response does not qualify (unknown
 * or large length, a content or transfer coding, or a masked body that needs inspecting first: a gzip file, an archive,
 * an untyped body); the caller streams it, and never asks for a response
 * the adapter observes.
 */
async function smallResponse(x: StreamArgs): Promise<ResponseOutcome | undefined> {
  const { res, upstream, masker } = x;
  const h = upstream.headers;
  const cl = h['content-length'];
  if (typeof cl !== 'string' || !/^\d{1,6}$/.test(cl) || Number(cl) > SMALL_BODY_BYTES) return undefined;
  if (codingsOf(h['content-encoding']).length > 0 || codingsOf(h['transfer-encoding']).length > 0) return undefined;
  const verbatim = x.classification.verbatimBody === true;
  // An empty body has nothing to sniff or inspect (a registry's 202/201 to an upload carries no type): it keeps its length.
  if (masker && !verbatim && Number(cl) > 0 && bodyKindOf(h['content-type']).kind !== 'plain') return undefined;
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
  if (masker) {
    const masked = maskHeaders(masker, headers);
    headers = masked.headers;
    findings.push(masked.findings);
    if (!verbatim) {
      const b = masker.maskBytes(body);
      out = b.bytes;
      findings.push(b.findings);
    }
  }
  headers['content-length'] = String(out.length);
  res.writeHead(upstream.statusCode, headers);
  // A short body goes out as a latin1 string (one char per byte: the same bytes): node then writes the head and
  // the body with one write() instead of a corked writev of two chunks.
  if (out.length <= ONE_WRITE_BYTES) res.end(Buffer.from(out.buffer, out.byteOffset, out.length).toString('latin1'), 'latin1');
  else res.end(out);
  return {
    bytesOut: out.length,
    bytesUpstream: body.length,
    masking: mergeFindings(findings),
    observed: { ...head.audit },
    ...(masker && verbatim && { labels: VERBATIM_LABELS }),
  };
}

/** Audit labels of a body a connection would mask but that went out unread because it is content-addressed (`verbatimBody`). */
const VERBATIM_LABELS = { response_inspected: false, response_uninspected: 'content-addressed blob' } as const;

/**
 * The response head the client gets, before masking: hop-by-hop headers
 * dropped, then the adapter's rewrite (a registry's Location and Link). An
 * adapter refusal drops the upstream body and is thrown before anything
 * was written, so the client gets a clean error.
 */
function responseHead(x: StreamArgs): { headers: Record<string, string | string[]>; audit?: Pick<ActionEventInput, 'registry'> } {
  const headers = downstreamResponseHeaders(x.upstream.headers);
  if (!x.adapter.responseHead) return { headers };
  try {
    return x.adapter.responseHead(x.areq, x.classification, { status: x.upstream.statusCode, headers });
  } catch (err) {
    x.upstream.body.destroy();
    throw err;
  }
}
