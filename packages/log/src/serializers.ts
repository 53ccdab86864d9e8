import { stdSerializers } from 'pino';

/** Query parameter names that carry credentials (OAuth codes, signed-URL signatures, API keys…). */
const TOKEN_PARAM = /token|key|secret|passw|pwd|auth|sig|signature|credential|code|session|jwt|assertion/i;

/**
 * Path plus query with token-like parameters removed. Absolute URLs (proxy
 * requests) lose scheme, host and user-info: `https://user:pass@h/p` logs `/p`.
 */
export function safeUrl(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  let u: URL;
  try {
    u = new URL(raw, 'http://relative.invalid');
  } catch {
    // Unparseable: keep the path part only, never a query that might hold a token.
    return raw.split('?', 1)[0];
  }
  for (const name of [...u.searchParams.keys()]) {
    if (TOKEN_PARAM.test(name)) u.searchParams.delete(name);
  }
  const q = u.searchParams.toString();
  return q ? `${u.pathname}?${q}` : u.pathname;
}

/** Headers worth logging; everything else (credentials, cookies, unknown custom headers) is dropped. */
const HEADER_ALLOW = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'user-agent',
  'accept',
  'x-request-id',
  'traceparent',
  'git-protocol',
]);

/** Keeps only allow-listed headers: headers are never logged whole. */
export function headersSerializer(headers: unknown): Record<string, unknown> | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const out: Record<string, unknown> = {};
  const entries =
    typeof (headers as { entries?: unknown }).entries === 'function' && !Array.isArray(headers)
      ? [...(headers as { entries(): Iterable<[string, unknown]> }).entries()]
      : Object.entries(headers);
  for (const [k, v] of entries) {
    if (HEADER_ALLOW.has(k.toLowerCase())) out[k.toLowerCase()] = v;
  }
  return out;
}

/** Request: method, url (path + safe query) and id only. */
export function reqSerializer(req: unknown): Record<string, unknown> | undefined {
  if (!req || typeof req !== 'object') return undefined;
  const r = req as { method?: unknown; url?: unknown; originalUrl?: unknown; id?: unknown };
  const out: Record<string, unknown> = {};
  if (typeof r.method === 'string') out['method'] = r.method;
  const url = safeUrl(typeof r.originalUrl === 'string' ? r.originalUrl : r.url);
  if (url !== undefined) out['url'] = url;
  if (typeof r.id === 'string' || typeof r.id === 'number') out['id'] = r.id;
  return out;
}

/** Response: status code only. */
export function resSerializer(res: unknown): Record<string, unknown> | undefined {
  if (!res || typeof res !== 'object') return undefined;
  const r = res as { statusCode?: unknown; status?: unknown };
  const code = typeof r.statusCode === 'number' ? r.statusCode : r.status;
  return typeof code === 'number' ? { statusCode: code } : {};
}

/** The serializers every agentgate logger uses. */
export const serializers = {
  req: reqSerializer,
  res: resSerializer,
  headers: headersSerializer,
  err: stdSerializers.err,
  error: stdSerializers.err,
};
