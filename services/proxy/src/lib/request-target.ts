import { ProxyError } from '../errors.js';

/** The parts of an origin-form request target the proxy routes on. */
export interface RequestTarget {
  /** First path segment: the connection name (or the reserved prefix). */
  readonly connection: string;
  /** The rest of the path as the client sent it (still percent-encoded), always starting with `/`. */
  readonly rawPath: string;
  /** `rawPath` with each segment percent-decoded: what policy sees, so `%61dmin` cannot dodge a rule on `admin`. */
  readonly path: string;
  /** `?…` exactly as sent, or the empty string. */
  readonly rawQuery: string;
  /** Decoded query parameters; a repeated key gives a list. */
  readonly query: Record<string, string | string[]>;
}

const CONTROL = /[\u0000-\u001f\u007f]/;
// After one decode, these still mean "encoded separator or dot": a double-encoding trick aimed at an upstream that decodes twice.
const DOUBLE_ENCODED = /%(2e|2f|5c|00)/i;
const NON_ASCII = /[^\x00-\x7f]/;

function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch (cause) {
    throw new ProxyError('ERR_BAD_TARGET', 'request target has invalid percent-encoding', { cause });
  }
}

/**
 * True when a decoded segment would be a dot-segment for some upstream:
 * `.`/`..` themselves; once `;` path parameters are removed (`..;jsessionid=x`,
 * `%2e%2e%3b` — servlet containers strip them before resolving); once
 * compatibility-normalised (full-width `．．`, `\u2024`, small full stop:
 * NFKC makes them dots); and dots with trailing spaces (`.. `, which
 * Windows servers trim). Any of these is refused, never normalised.
 */
function isDotSegment(decoded: string): boolean {
  for (const form of NON_ASCII.test(decoded) ? [decoded, decoded.normalize('NFKC')] : [decoded]) {
    const bare = form.split(';', 1)[0] ?? '';
    if (bare === '.' || bare === '..' || /^\.+[\s.]*$/.test(bare)) return true;
    if (form !== decoded && (form.includes('/') || form.includes('\\'))) return true;
  }
  return false;
}

/**
 * Parses `req.url`. Only origin-form (`/conn/path?query`) is accepted:
 * absolute-form (`http://host/…`) would let a client choose the upstream,
 * and asterisk-form has no connection. Dot segments (also behind `;`
 * parameters, percent-encoding or Unicode look-alikes), encoded `/` or `\`,
 * backslashes, NUL/control characters and double-encoded dots are refused
 * (ERR_PATH_TRAVERSAL) rather than normalised: `/conn/../other` must never
 * reach another connection or another upstream path than the one policy saw.
 */
export function parseTarget(url: string | undefined): RequestTarget {
  if (!url || url[0] !== '/') throw new ProxyError('ERR_BAD_TARGET');
  // A URL starting with `//` is scheme-relative to many parsers: refuse it, it names no connection.
  if (url.startsWith('//')) throw new ProxyError('ERR_BAD_TARGET');
  const q = url.indexOf('?');
  const pathPart = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q);
  if (CONTROL.test(url) || url.includes('#')) throw new ProxyError('ERR_BAD_TARGET', 'request target holds control characters or a fragment');
  if (pathPart.includes('\\')) throw new ProxyError('ERR_PATH_TRAVERSAL');
  const segments = pathPart.slice(1).split('/');
  const decoded: string[] = [];
  for (const seg of segments) {
    const d = decodeSegment(seg);
    if (isDotSegment(d) || d.includes('/') || d.includes('\\') || d.includes('\u0000') || DOUBLE_ENCODED.test(d)) {
      throw new ProxyError('ERR_PATH_TRAVERSAL');
    }
    if (CONTROL.test(d)) throw new ProxyError('ERR_BAD_TARGET', 'request path holds encoded control characters');
    decoded.push(d);
  }
  const connection = decoded[0] ?? '';
  const restRaw = segments.slice(1);
  const restDecoded = decoded.slice(1);
  return {
    connection,
    rawPath: `/${restRaw.join('/')}`,
    path: `/${restDecoded.join('/')}`,
    rawQuery,
    query: parseQuery(rawQuery),
  };
}

/**
 * The connection's path rules (`requests.allowMatrixParams`): a `;` in a path
 * segment (raw or `%3b`) is refused unless the connection allows matrix
 * parameters, since servlet containers route on the segment without them
 * while policy sees them. Dot-segments behind `;` are refused by parseTarget
 * whatever the connection allows.
 */
export function checkPathParams(target: RequestTarget, allowMatrixParams: boolean): void {
  if (allowMatrixParams) return;
  const p = target.path;
  // A full-width semicolon becomes `;` for an upstream that normalises (NFKC) before routing.
  if (p.includes(';') || (NON_ASCII.test(p) && p.normalize('NFKC').includes(';'))) throw new ProxyError('ERR_PATH_PARAMETERS');
}

function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (rawQuery.length <= 1) return out;
  for (const [k, v] of new URLSearchParams(rawQuery.slice(1))) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** Joins the upstream base URL's path with the forwarded path (`https://h/v3` + `/repos` → `/v3/repos`). */
export function upstreamPath(base: Pick<URL, 'pathname'>, rawPath: string, rawQuery: string): string {
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  return `${prefix}${rawPath}${rawQuery}`;
}
