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
  const capture = new Capture(o.recordBytes);
  const summary: Mutable<SessionSummary> = { protocol: o.protocol, bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0, channels: capture.channels, end: 'error', findings: [] };
  const found: Finding[][] = [];
  const redactors = new Map<number, StreamRedactor>();
  let current: { channel: number | undefined; opcode: number } = { channel: undefined, opcode: OP_BINARY };
  let inbound: { channel: number | undefined } = { channel: undefined };
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const upParser = new WsFrameParser(o.maxFrame, false);
  const clientParser = new WsFrameParser(o.maxFrame, true);
  const codec = o.codec;

  const toClient = (bytes: Buffer): void => {
    summary.bytesOut += bytes.length;
    if (!o.client.write(bytes)) {
      o.upstream.pause();
      o.client.once('drain', () => o.upstream.resume());
    }
  };
  const emit = (channel: number, data: Buffer): void => {
    if (data.length === 0 || !codec) return;
    capture.add(codec.channelName(channel), data);
    toClient(serverFrame(current.opcode === 0 ? OP_BINARY : current.opcode, codec.join(channel, data)));
  };
  const flush = (except?: number): void => {
    for (const [channel, r] of redactors) {
      if (channel === except) continue;
      const out = r.end();
      found.push(r.findings());
      redactors.delete(channel);
      emit(channel, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
    }
  };
  const arm = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!ended) flush();
    }, IDLE_FLUSH_MS);
    timer.unref();
  };

  const upstreamFrame = (f: WsFrame): void => {
    if (f.opcode >= OP_CLOSE) {
      flush();
      toClient(f.raw);
      return;
    }
    summary.messagesOut += f.opcode !== 0 ? 1 : 0;
    const part = codec ? (f.opcode !== 0 ? codec.split(f.payload) : current.channel !== undefined ? { channel: current.channel, data: f.payload } : undefined) : undefined;
    if (f.opcode !== 0) current = { channel: part?.channel, opcode: f.opcode };
    if (!part || !o.masker || !codec || codec.channelName(part.channel) === 'close') {
      // Opaque or control-channel message: relayed as it came.
      flush();
      if (part && codec) capture.add(codec.channelName(part.channel), part.data);
      else capture.add('opaque-out', f.payload);
      toClient(f.raw);
      return;
    }
    flush(part.channel);
    let r = redactors.get(part.channel);
    if (!r) {
      r = o.masker.stream();
      redactors.set(part.channel, r);
    }
    const out = r.push(part.data);
    emit(part.channel, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
    arm();
  };
  const clientFrame = (f: WsFrame): void => {
    if (f.opcode >= OP_CLOSE) return;
    summary.messagesIn += f.opcode !== 0 ? 1 : 0;
    const part = codec ? (f.opcode !== 0 ? codec.split(f.payload) : inbound.channel !== undefined ? { channel: inbound.channel, data: f.payload } : undefined) : undefined;
    if (f.opcode !== 0) inbound = { channel: part?.channel };
    if (part && codec) capture.add(codec.channelName(part.channel), part.data);
    else capture.add('opaque-in', f.payload);
  };

  return new Promise<SessionSummary>((resolve) => {
    let closed = 0;
    const finish = (end: SessionSummary['end']): void => {
      if (!ended) {
        ended = true;
        summary.end = end;
        if (timer) clearTimeout(timer);
        try {
          flush();
        } catch {}
        o.client.end();
        o.upstream.end();
        setTimeout(() => {
          o.client.destroy();
          o.upstream.destroy();
        }, 1000).unref();
      }
    };
    const fail = (err: unknown): void => {
      if (err instanceof WsProtocolError && !ended) {
        try {
          o.client.write(closeFrame(err.closeCode, err.message));
        } catch {}
        finish('protocol-error');
      } else finish('error');
    };
    const onClose = (): void => {
      closed++;
      if (closed < 2) return;
      summary.findings = found.flat();
      summary.channels = capture.finish(o.masker ? (b) => Buffer.from(o.masker?.maskBytes(b).bytes ?? b) : undefined);
      resolve(summary);
    };
    o.upstream.on('data', (chunk: Buffer) => {
      if (ended) return;
      try {
        for (const f of upParser.push(chunk)) upstreamFrame(f);
      } catch (err) {
        fail(err);
      }
    });
    o.client.on('data', (chunk: Buffer) => {
      if (ended) return;
      summary.bytesIn += chunk.length;
      try {
        for (const f of clientParser.push(chunk)) clientFrame(f);
      } catch (err) {
        fail(err);
        return;
      }
      if (!o.upstream.write(chunk)) {
        o.client.pause();
        o.upstream.once('drain', () => o.client.resume());
      }
    });
    o.upstream.on('end', () => finish('upstream-closed'));
    o.client.on('end', () => finish('client-closed'));
    o.upstream.on('error', () => finish('error'));
    o.client.on('error', () => finish('error'));
    o.upstream.once('close', () => {
      finish('upstream-closed');
      onClose();
    });
    o.client.once('close', () => {
      finish('client-closed');
      onClose();
    });
    try {
      if (o.upstreamHead.length > 0) for (const f of upParser.push(o.upstreamHead)) upstreamFrame(f);
      if (o.clientHead.length > 0) {
        summary.bytesIn += o.clientHead.length;
        for (const f of clientParser.push(o.clientHead)) clientFrame(f);
        o.upstream.write(o.clientHead);
      }
    } catch (err) {
      fail(err);
    }
  });
}
