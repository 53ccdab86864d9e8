import type { Duplex } from 'node:stream';
import type { Finding, Masker, StreamRedactor } from '@agentgate/masking';
import type { SessionCodec, SessionSummary } from '../adapters/types.js';
import { IDLE_FLUSH_MS } from './idle-flush-mask.js';
import { closeFrame, OP_BINARY, OP_CLOSE, serverFrame, type WsFrame, WsFrameParser, WsProtocolError } from './ws-frames.js';

export interface RelayOptions {
  client: Duplex;
  upstream: Duplex;
  /** Bytes that arrived with the handshakes (already read from the sockets). */
  clientHead: Buffer;
  upstreamHead: Buffer;
  protocol: string;
  /** Channel framing of the subprotocol; without one the session is relayed opaque (counted, not read). */
  codec: SessionCodec | undefined;
  /** Masks upstream output (the leased credential's forms); undefined: nothing to mask. */
  masker: Masker | undefined;
  /** Bytes of each channel kept for the record. */
  recordBytes: number;
  maxFrame: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

class Capture {
  readonly channels: SessionSummary['channels'] = {};
  readonly #parts = new Map<string, Buffer[]>();
  constructor(private readonly max: number) {}
  add(name: string, data: Buffer): void {
    const c = this.channels[name] ?? { bytes: 0 };
    this.channels[name] = c;
    const kept = Math.min(c.bytes, this.max);
    c.bytes += data.length;
    if (kept < this.max) {
      const parts = this.#parts.get(name) ?? [];
      parts.push(data.subarray(0, this.max - kept));
      this.#parts.set(name, parts);
    }
    if (c.bytes > this.max) c.truncated = true;
  }
  /** The captured text of each channel; `mask` runs over it once more (stdin is recorded as the client sent it). */
  finish(mask: ((b: Buffer) => Buffer) | undefined): SessionSummary['channels'] {
    for (const [name, parts] of this.#parts) {
      const c = this.channels[name];
      if (!c || this.max === 0) continue;
      const bytes = Buffer.concat(parts);
      c.text = (mask ? mask(bytes) : bytes).toString('utf8');
    }
    return this.channels;
  }
}

/**
 * Relays an upgraded WebSocket session between the client and the upstream
 * until either side closes. Client → upstream bytes go through untouched
 * (the client's own framing and masking keys), parsed on the side for the
 * record. Upstream → client messages of a channel protocol are masked per
 * channel with a streaming redactor (exact across messages; held-back bytes
 * are flushed, masked, when the stream pauses or another channel speaks)
 * and re-framed as messages of the same channel; control frames pass as
 * they are, after pending output. Without a codec the session is opaque
 * (e.g. port-forward's tunnelled SPDY): relayed byte for byte, counted.
 */
export function relaySession(o: RelayOptions): Promise<SessionSummary> {
  return new WsRelay(o).run();
}

/**
 * One relayed session's state: the counts and capture for the record, the
 * open redactor of each upstream channel, the channel a continuation frame
 * belongs to in each direction, and whether the session has ended. Each
 * frame goes through `upstreamFrame` or `clientFrame`; `finish` ends both
 * sides once, and the summary resolves when both sockets closed.
 */
export class WsRelay {
  readonly summary: Mutable<SessionSummary>;
  readonly #o: RelayOptions;
  readonly #capture: Capture;
  readonly #found: Finding[][] = [];
  readonly #redactors = new Map<number, StreamRedactor>();
  readonly #upParser: WsFrameParser;
  readonly #clientParser: WsFrameParser;
  /** The upstream message being relayed: a continuation frame belongs to its channel and keeps its opcode. */
  #current: { channel: number | undefined; opcode: number } = { channel: undefined, opcode: OP_BINARY };
  /** The client message being read, for the same reason. */
  #inbound: { channel: number | undefined } = { channel: undefined };
  #timer: NodeJS.Timeout | undefined;
  #ended = false;
  #closed = 0;

  constructor(o: RelayOptions) {
    this.#o = o;
    this.#capture = new Capture(o.recordBytes);
    this.summary = {
      protocol: o.protocol,
      bytesIn: 0,
      bytesOut: 0,
      messagesIn: 0,
      messagesOut: 0,
      channels: this.#capture.channels,
      end: 'error',
      findings: [],
    };
    this.#upParser = new WsFrameParser(o.maxFrame, false);
    this.#clientParser = new WsFrameParser(o.maxFrame, true);
  }

  /** Relays until both sockets closed; resolves with the session's summary (never rejects). */
  run(): Promise<SessionSummary> {
    return new Promise<SessionSummary>((resolve) => {
      this.#listen(resolve);
      this.#relayHeads();
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** One upstream frame: control frames pass after pending output; channel data is masked per channel and re-framed. */
  upstreamFrame(f: WsFrame): void {
    const codec = this.#o.codec;
    if (f.opcode >= OP_CLOSE) {
      this.flush();
      this.#toClient(f.raw);
      return;
    }
    this.summary.messagesOut += f.opcode !== 0 ? 1 : 0;
    const part = codec
      ? f.opcode !== 0
        ? codec.split(f.payload)
        : this.#current.channel !== undefined
          ? { channel: this.#current.channel, data: f.payload }
          : undefined
      : undefined;
    if (f.opcode !== 0) this.#current = { channel: part?.channel, opcode: f.opcode };
    if (!part || !this.#o.masker || !codec || codec.channelName(part.channel) === 'close') {
      // Opaque or control-channel message: relayed as it came.
      this.flush();
      if (part && codec) this.#capture.add(codec.channelName(part.channel), part.data);
      else this.#capture.add('opaque-out', f.payload);
      this.#toClient(f.raw);
      return;
    }
    this.flush(part.channel);
    let r = this.#redactors.get(part.channel);
    if (!r) {
      r = this.#o.masker.stream();
      this.#redactors.set(part.channel, r);
    }
    const out = r.push(part.data);
    this.#emit(part.channel, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
    this.#arm();
  }

  /** One client frame, read for the record only (its bytes are forwarded as they came). */
  clientFrame(f: WsFrame): void {
    const codec = this.#o.codec;
    if (f.opcode >= OP_CLOSE) return;
    this.summary.messagesIn += f.opcode !== 0 ? 1 : 0;
    const part = codec
      ? f.opcode !== 0
        ? codec.split(f.payload)
        : this.#inbound.channel !== undefined
          ? { channel: this.#inbound.channel, data: f.payload }
          : undefined
      : undefined;
    if (f.opcode !== 0) this.#inbound = { channel: part?.channel };
    if (part && codec) this.#capture.add(codec.channelName(part.channel), part.data);
    else this.#capture.add('opaque-in', f.payload);
  }

  /** Ends every open redactor but `except`'s, sending what they held back, masked. */
  flush(except?: number): void {
    for (const [channel, r] of this.#redactors) {
      if (channel === except) continue;
      const out = r.end();
      this.#found.push(r.findings());
      this.#redactors.delete(channel);
      this.#emit(channel, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
    }
  }

  /** Ends the session once: pending output flushed, both sides ended, then destroyed if they linger. */
  finish(end: SessionSummary['end']): void {
    if (this.#ended) return;
    this.#ended = true;
    this.summary.end = end;
    if (this.#timer) clearTimeout(this.#timer);
    try {
      this.flush();
    } catch {}
    this.#o.client.end();
    this.#o.upstream.end();
    setTimeout(() => {
      this.#o.client.destroy();
      this.#o.upstream.destroy();
    }, 1000).unref();
  }

  /** A protocol error closes the client with its close code; anything else just ends the session. */
  fail(err: unknown): void {
    if (err instanceof WsProtocolError && !this.#ended) {
      try {
        this.#o.client.write(closeFrame(err.closeCode, err.message));
      } catch {}
      this.finish('protocol-error');
    } else this.finish('error');
  }

  #toClient(bytes: Buffer): void {
    const o = this.#o;
    this.summary.bytesOut += bytes.length;
    if (!o.client.write(bytes)) {
      o.upstream.pause();
      o.client.once('drain', () => o.upstream.resume());
    }
  }

  #emit(channel: number, data: Buffer): void {
    const codec = this.#o.codec;
    if (data.length === 0 || !codec) return;
    this.#capture.add(codec.channelName(channel), data);
    this.#toClient(serverFrame(this.#current.opcode === 0 ? OP_BINARY : this.#current.opcode, codec.join(channel, data)));
  }

  /** A quiet upstream must not leave output in the redactors' hold-back: flushed after IDLE_FLUSH_MS. */
  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#ended) this.flush();
    }, IDLE_FLUSH_MS);
    this.#timer.unref();
  }

  #onUpstreamData(chunk: Buffer): void {
    if (this.#ended) return;
    try {
      for (const f of this.#upParser.push(chunk)) this.upstreamFrame(f);
    } catch (err) {
      this.fail(err);
    }
  }

  #onClientData(chunk: Buffer): void {
    const o = this.#o;
    if (this.#ended) return;
    this.summary.bytesIn += chunk.length;
    try {
      for (const f of this.#clientParser.push(chunk)) this.clientFrame(f);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (!o.upstream.write(chunk)) {
      o.client.pause();
      o.upstream.once('drain', () => o.client.resume());
    }
  }

  #onClose(resolve: (s: SessionSummary) => void): void {
    this.#closed++;
    if (this.#closed < 2) return;
    const masker = this.#o.masker;
    this.summary.findings = this.#found.flat();
    this.summary.channels = this.#capture.finish(masker ? (b) => Buffer.from(masker.maskBytes(b).bytes) : undefined);
    resolve(this.summary);
  }

  #listen(resolve: (s: SessionSummary) => void): void {
    const { upstream, client } = this.#o;
    upstream.on('data', (chunk: Buffer) => this.#onUpstreamData(chunk));
    client.on('data', (chunk: Buffer) => this.#onClientData(chunk));
    upstream.on('end', () => this.finish('upstream-closed'));
    client.on('end', () => this.finish('client-closed'));
    upstream.on('error', () => this.finish('error'));
    client.on('error', () => this.finish('error'));
    upstream.once('close', () => {
      this.finish('upstream-closed');
      this.#onClose(resolve);
    });
    client.once('close', () => {
      this.finish('client-closed');
      this.#onClose(resolve);
    });
  }

  /** Bytes that came with the handshakes: the upstream's relayed first, then the client's forwarded. */
  #relayHeads(): void {
    const o = this.#o;
    try {
      if (o.upstreamHead.length > 0) for (const f of this.#upParser.push(o.upstreamHead)) this.upstreamFrame(f);
      if (o.clientHead.length > 0) {
        this.summary.bytesIn += o.clientHead.length;
        for (const f of this.#clientParser.push(o.clientHead)) this.clientFrame(f);
        o.upstream.write(o.clientHead);
      }
    } catch (err) {
      this.fail(err);
    }
  }
}
