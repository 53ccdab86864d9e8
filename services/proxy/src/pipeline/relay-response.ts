import type { ServerResponse } from 'node:http';
import { type Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Finding, Masker } from '@agentgate/masking';
import type { Dispatcher } from 'undici';
import type { Classification, EarlyResponse, EffectObserver } from '../adapters/types.js';
import { ProxyError, toProxyError } from '../errors.js';
import { countBytes } from '../lib/body-limit.js';
import { downstreamResponseHeaders } from '../lib/headers.js';
import { upstreamError } from './forward.js';
import { codingsOf, maskHeaders, mergeFindings, printable } from './mask.js';
import type { ResponseOutcome } from './respond-upstream.js';
import type { ProxyRuntime } from './runtime.js';

/** A relayed answer: what the client got, and what the upstream did. */
export interface RelayOutcome extends ResponseOutcome {
  /** The client left before the answer ended (the answer was still read to its end). */
  clientGone: boolean;
  /** What the adapter's observer read from the answer (Classification.effect). */
  effect?: ReturnType<EffectObserver['finish']>;
}

/**
 * Relays the upstream's answer of an action that changes state upstream
 * (`Classification.effect`, a git push) or whose head an adapter already
 * sent (`early`). Masked like every response; unlike the plain stream, the
 * answer is read to its end even when the client has gone, so the outcome
 * recorded is what the upstream did, not what happened to the client.
 * Compressed answers are refused (git never compresses these): they could
 * not be masked without decoding.
 */
export async function relayResponse(
  rt: ProxyRuntime,
  x: {
    res: ServerResponse;
    upstream: Dispatcher.ResponseData;
    masker: Masker | undefined;
    early: EarlyResponse | undefined;
    classification: Classification;
    connection: string;
  },
): Promise<RelayOutcome> {
  const { res, upstream, early } = x;
  const sink = new ClientSink(res);
  const base = { bytesOut: 0, bytesUpstream: 0, masking: mergeFindings([]), observed: {} };
  let headers = downstreamResponseHeaders(upstream.headers);
  // Transfer codings too: undici undoes only `chunked`, so `Transfer-Encoding: gzip` would arrive compressed.
  const coding = [...codingsOf(upstream.headers['transfer-encoding']), ...codingsOf(upstream.headers['content-encoding'])][0];
  let refusal: ProxyError | undefined =
    coding !== undefined
      ? new ProxyError('ERR_UPSTREAM_ENCODING', `connection "${x.connection}": the upstream's answer is compressed (${printable(coding)})`)
      : undefined;
  if (early) refusal ??= early.upstream(upstream.statusCode, upstream.headers);
  if (refusal) {
    upstream.body.destroy();
    if (!early) throw refusal;
    sink.end(early.refusal(refusal));
    return { ...base, clientStatus: 200, clientGone: sink.clientGone, effect: { outcome: 'failure', reason: refusal.message, labels: {} } };
  }

  const findings: Finding[][] = [];
  const stages: Transform[] = [];
  let maskStage: (Transform & { findings(): Finding[] }) | undefined;
  if (x.masker) {
    const masker = x.masker;
    const masked = maskHeaders(masker, headers);
    headers = masked.headers;
    findings.push(masked.findings);
    maskStage = masker.transform();
    stages.push(maskStage);
  }
  const observer = x.classification.effect?.observe();
  if (observer) stages.push(observer.transform);
  if (!early && !sink.clientGone) {
    // Masking may change the length: the body goes out chunked.
    delete headers['content-length'];
    res.writeHead(upstream.statusCode, headers);
  }

  let error: ProxyError | undefined;
  // Counted beside the pipe (see countBytes), in the tick the pipeline starts reading.
  const upstreamCount = countBytes(upstream.body as Readable);
  const last = stages.at(-1);
  const outCount = last ? countBytes(last) : upstreamCount;
  try {
    await pipeline([upstream.body as Readable, ...stages, sink]);
  } catch (err) {
    error = toProxyError(upstreamError(x.connection, err));
    upstream.body.destroy();
    res.destroy();
  }
  if (maskStage) findings.push(maskStage.findings());
  return {
    bytesOut: outCount.bytes,
    bytesUpstream: upstreamCount.bytes,
    masking: mergeFindings(findings),
    observed: {},
    clientGone: sink.clientGone,
    ...(early && { clientStatus: 200 }),
    ...(error && { error }),
    ...(observer && !error && { effect: observer.finish() }),
  };
}

/**
 * The relay's last stage: writes into the response with backpressure while
 * the client is there; once it has gone, drops the bytes so the upstream's
 * answer is still read (and observed) to its end.
 */
class ClientSink extends Writable {
  readonly #res: ServerResponse;
  #gone = false;
  #waiting: (() => void) | undefined;

  constructor(res: ServerResponse) {
    super();
    this.#res = res;
    this.#gone = res.destroyed;
    res.once('close', () => {
      if (!res.writableFinished) this.#gone = true;
      this.#waiting?.();
    });
  }

  get clientGone(): boolean {
    return this.#gone;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#gone || this.#res.destroyed) {
      cb();
      return;
    }
    if (this.#res.write(chunk)) {
      cb();
      return;
    }
    const done = (): void => {
      this.#waiting = undefined;
      this.#res.off('drain', done);
      cb();
    };
    this.#waiting = done;
    this.#res.once('drain', done);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.#gone || this.#res.destroyed) {
      cb();
      return;
    }
    // 'finish' never comes for a client that leaves now: 'close' ends the wait as well.
    const done = (): void => {
      this.#waiting = undefined;
      this.#res.off('finish', done);
      cb();
    };
    this.#waiting = done;
    this.#res.once('finish', done);
    this.#res.end();
  }
}
