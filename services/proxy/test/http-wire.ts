import { connect } from 'node:net';

/** One HTTP/1.1 response as read off the wire. */
export interface WireResponse {
  status: number;
  reason: string;
  /** Header lines in order, names lower-cased. */
  headers: Array<[string, string]>;
  body: Buffer;
}

/** The outcome of parsing every byte a client received on one connection. */
export type WireParse = { ok: true; responses: WireResponse[] } | { ok: false; error: string; responses: WireResponse[] };

const STATUS_LINE = /^HTTP\/1\.1 ([1-5]\d\d) ([\x20-\x7e\t]*)$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\x20-\x7e\t]*?)[ \t]*$/;

function header(r: Pick<WireResponse, 'headers'>, name: string): string[] {
  return r.headers.filter(([n]) => n === name).map(([, v]) => v);
}

/**
 * Parses a byte stream as a sequence of well-formed HTTP/1.1 responses:
 * status line, header lines of visible ASCII (the gateway's own headers and
 * this test's upstream never carry anything else), and framing by chunked
 * transfer coding, Content-Length, no body (1xx, 204, 304, a response to
 * HEAD) or the end of the connection. `methods[i]` is the method of the
 * i-th request (HEAD responses carry no body); interim 1xx responses do not
 * consume a method. Anything left over that is not a complete response is
 * an error: a cut response, garbage, or bytes after a close-delimited body.
 */
export function parseResponses(data: Buffer, methods: readonly string[]): WireParse {
  const responses: WireResponse[] = [];
  let at = 0;
  let finals = 0;
  const fail = (error: string): WireParse => ({ ok: false, error: `${error} at byte ${at} of ${data.length}`, responses });
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) return fail('incomplete response head');
    const lines = data.subarray(at, end).toString('latin1').split('\r\n');
    const m = STATUS_LINE.exec(lines[0] ?? '');
    if (!m) return fail(`bad status line ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
    const status = Number(m[1]);
    const headers: Array<[string, string]> = [];
    for (const line of lines.slice(1)) {
      const hm = HEADER_LINE.exec(line);
      if (!hm) return fail(`bad header line ${JSON.stringify(line.slice(0, 120))}`);
      headers.push([(hm[1] ?? '').toLowerCase(), hm[2] ?? '']);
    }
    at = end + 4;
    const r: WireResponse = { status, reason: m[2] ?? '', headers, body: Buffer.alloc(0) };
    const te = header(r, 'transfer-encoding');
    const cl = header(r, 'content-length');
    if (te.length > 0 && cl.length > 0) return fail('both Transfer-Encoding and Content-Length');
    if (cl.length > 1 && new Set(cl).size > 1) return fail('conflicting Content-Length headers');
    const method = methods[finals] ?? 'GET';
    const bodyless = status < 200 || status === 204 || status === 304;
    if (bodyless) {
      if (te.length > 0 || (cl.length > 0 && cl[0] !== '0' && status !== 304)) return fail(`${status} with a body`);
    } else if (method === 'HEAD' && (at === data.length || data.subarray(at, at + 9).toString('latin1') === 'HTTP/1.1 ')) {
      // A response to HEAD: headers only (Content-Length describes the GET's body).
    } else if (te.length > 0) {
      if (te.join(',').trim().toLowerCase() !== 'chunked') return fail(`unexpected transfer coding ${te.join(',')}`);
      const parts: Buffer[] = [];
      for (;;) {
        const eol = data.indexOf('\r\n', at);
        if (eol < 0) return fail('incomplete chunk size line');
        const sizeText = data.subarray(at, eol).toString('latin1');
        if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return fail(`bad chunk size ${JSON.stringify(sizeText.slice(0, 20))}`);
        const size = Number.parseInt(sizeText, 16);
        at = eol + 2;
        if (size === 0) {
          // No trailers are expected from the gateway: the chunked body ends with an empty line.
          if (data.subarray(at, at + 2).toString('latin1') !== '\r\n') return fail('chunked body without its final CRLF');
          at += 2;
          break;
        }
        if (at + size + 2 > data.length) return fail('incomplete chunk');
        parts.push(data.subarray(at, at + size));
        if (data.subarray(at + size, at + size + 2).toString('latin1') !== '\r\n') return fail('chunk not followed by CRLF');
        at += size + 2;
      }
      r.body = Buffer.concat(parts);
    } else if (cl.length > 0) {
      if (!/^\d{1,12}$/.test(cl[0] ?? '')) return fail(`bad Content-Length ${cl[0]}`);
      const n = Number(cl[0]);
      if (at + n > data.length) return fail(`body shorter than Content-Length ${n}`);
      r.body = data.subarray(at, at + n);
      at += n;
    } else {
      // Close-delimited: the rest of the connection is the body, so this must be the last response.
      r.body = data.subarray(at);
      at = data.length;
    }
    responses.push(r);
    if (status >= 200) finals++;
  }
  return { ok: true, responses };
}

/** What a raw exchange produced. */
export interface Exchange {
  data: Buffer;
  /** True when the server closed the connection (else the client stopped reading once the answers were complete). */
  closed: boolean;
  /** True when the deadline passed before the answers were complete. */
  timedOut: boolean;
}

/**
 * Writes `bytes` on a fresh connection and reads until the server closes it,
 * or until every byte received parses as complete responses, one final
 * response per entry of `methods`, and nothing more arrived for `settleMs`
 * (a kept-alive connection), or until `timeoutMs`.
 */
export function exchange(port: number, bytes: Buffer, methods: readonly string[], opts: { settleMs?: number; timeoutMs?: number } = {}): Promise<Exchange> {
  const settleMs = opts.settleMs ?? 150;
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settle: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (closed: boolean, timedOut: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      if (settle) clearTimeout(settle);
      sock.destroy();
      resolve({ data: Buffer.concat(chunks), closed, timedOut });
    };
    const deadline = setTimeout(() => finish(false, true), opts.timeoutMs ?? 8000);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      if (settle) clearTimeout(settle);
      const p = parseResponses(Buffer.concat(chunks), methods);
      if (p.ok && p.responses.filter((r) => r.status >= 200).length >= methods.length) settle = setTimeout(() => finish(false, false), settleMs);
    });
    sock.on('error', () => {});
    sock.on('close', () => finish(true, false));
    sock.write(bytes);
  });
}
