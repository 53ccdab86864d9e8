/**
 * Git pkt-line framing (gitprotocol-common): a 4-hex-digit length that
 * counts itself, then the payload; `0000` flush, `0001` delim, `0002`
 * response-end. The largest packet git sends or accepts is 65520 bytes.
 */
export const MAX_PKT_LEN = 65520;

/** One packet read from a buffer. */
export type Pkt = { type: 'data'; payload: Buffer; size: number } | { type: 'flush' | 'delim' | 'end'; size: 4 };

/** Thrown for bytes that are not pkt-lines; `message` is safe to show the client (it never echoes the bytes). */
export class PktLineError extends Error {
  override readonly name = 'PktLineError';
}

const HEX4 = /^[0-9a-f]{4}$/;

/**
 * Reads one packet at `offset`; `undefined` when the buffer does not hold a
 * whole packet yet. Throws PktLineError for a malformed length.
 */
export function readPkt(buf: Buffer, offset: number): Pkt | undefined {
  if (buf.length - offset < 4) return undefined;
  const head = buf.toString('latin1', offset, offset + 4);
  if (!HEX4.test(head)) throw new PktLineError('malformed pkt-line: length is not 4 hex digits');
  const len = Number.parseInt(head, 16);
  if (len === 0) return { type: 'flush', size: 4 };
  if (len === 1) return { type: 'delim', size: 4 };
  if (len === 2) return { type: 'end', size: 4 };
  if (len < 4) throw new PktLineError(`malformed pkt-line: invalid length ${len}`);
  if (len > MAX_PKT_LEN) throw new PktLineError(`malformed pkt-line: length ${len} exceeds ${MAX_PKT_LEN}`);
  if (buf.length - offset < len) return undefined;
  return { type: 'data', payload: buf.subarray(offset + 4, offset + len), size: len };
}

/** Encodes one data packet. */
export function pkt(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (body.length + 4 > MAX_PKT_LEN) throw new RangeError('pkt-line payload too long');
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0'), 'latin1'), body]);
}

export const FLUSH = Buffer.from('0000', 'latin1');

/** Wraps `data` in side-band packets of `band` (1 data, 2 progress, 3 error), split to fit a packet. */
export function sideband(band: 1 | 2 | 3, data: Buffer, max = MAX_PKT_LEN - 5): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += max) out.push(pkt(Buffer.concat([Buffer.from([band]), data.subarray(i, i + max)])));
  return Buffer.concat(out);
}
