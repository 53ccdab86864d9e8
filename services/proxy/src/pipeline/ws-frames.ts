/**
 * WebSocket framing (RFC 6455 §5.2), just what the session relay needs:
 * an incremental, bounded frame parser and a frame writer. No extension is
 * ever negotiated through the gateway (permessage-deflate would hide the
 * payload from masking), so a frame with an RSV bit set is a protocol error.
 */

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;

/** One parsed frame; `payload` is unmasked, `raw` the bytes exactly as received. */
export interface WsFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
  readonly raw: Buffer;
}

/** A framing error: the relay closes the session (1002 protocol error, 1009 too big). */
export class WsProtocolError extends Error {
  constructor(
    message: string,
    readonly closeCode: number,
  ) {
    super(message);
    this.name = 'WsProtocolError';
  }
}

/**
 * Incremental parser: `push` bytes as they arrive, get the frames they
 * complete. Holds at most one incomplete frame, bounded by `maxFrame`.
 */
export class WsFrameParser {
  #buf: Buffer = Buffer.alloc(0);
  readonly #maxFrame: number;
  readonly #expectMasked: boolean;

  /** `expectMasked`: frames from a client must be masked, frames from a server must not (RFC 6455 §5.1). */
  constructor(maxFrame: number, expectMasked: boolean) {
    this.#maxFrame = maxFrame;
    this.#expectMasked = expectMasked;
  }

  push(chunk: Buffer): WsFrame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: WsFrame[] = [];
    for (;;) {
      const f = this.#next();
      if (!f) break;
      frames.push(f);
    }
    return frames;
  }

  #next(): WsFrame | undefined {
    const b = this.#buf;
    if (b.length < 2) return undefined;
    const b0 = b[0] as number;
    const b1 = b[1] as number;
    if ((b0 & 0x70) !== 0) throw new WsProtocolError('reserved bits set (no extension was negotiated)', 1002);
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.#expectMasked) throw new WsProtocolError(masked ? 'a server frame is masked' : 'a client frame is not masked', 1002);
    let len = b1 & 0x7f;
    let off = 2;
    if (len === 126) {
      if (b.length < 4) return undefined;
      len = b.readUInt16BE(2);
      off = 4;
    } else if (len === 127) {
      if (b.length < 10) return undefined;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(this.#maxFrame)) throw new WsProtocolError('frame too large', 1009);
      len = Number(big);
      off = 10;
    }
    if (len > this.#maxFrame) throw new WsProtocolError('frame too large', 1009);
    const opcode = b0 & 0x0f;
    if (opcode >= 0x8 && (len > 125 || (b0 & 0x80) === 0)) throw new WsProtocolError('malformed control frame', 1002);
    const keyOff = off;
    if (masked) off += 4;
    if (b.length < off + len) return undefined;
    const payload = Buffer.from(b.subarray(off, off + len));
    if (masked) {
      for (let i = 0; i < len; i++) payload[i] = (payload[i] as number) ^ (b[keyOff + (i & 3)] as number);
    }
    const raw = b.subarray(0, off + len);
    this.#buf = b.subarray(off + len);
    return { fin: (b0 & 0x80) !== 0, opcode, payload, raw };
  }
}

/** An unmasked frame, as a server sends it. */
export function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) head[1] = len;
  else if (len < 65536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

/** A close frame with a status code (and a short reason). */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason.slice(0, 100));
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return serverFrame(OP_CLOSE, payload);
}
