/**
 * Test oracle: can a secret still be read from what a client received?
 * Independent of the engine's own variant lists, it looks at the text as it
 * is, JSON-unescaped, URL-decoded, with line wrapping removed, and every
 * base64 (standard or URL-safe) and hex run decoded at every alignment,
 * base64 twice (base64 inside base64). A secret counts as exposed when any
 * `minRun` consecutive bytes of it appear in one of those views (a masked
 * base64 core leaves at most 2 bytes at each end, far fewer).
 */

const B64_RUN = /[A-Za-z0-9+/_-]{8,}={0,2}/g;
const HEX_RUN = /[0-9A-Fa-f]{16,}/g;

function jsonUnescape(s: string): string {
  return s.replace(/\\(u[0-9A-Fa-f]{4}|["\\/bfnrt])/g, (_m, e: string) => {
    if (e[0] === 'u') return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    return ({ '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[e]!;
  });
}

/** Removes line breaks (raw or JSON-escaped) and the blanks around them. */
function unwrap(s: string): string {
  return s.replace(/[ \t]*(?:\r?\n|\\r\\n|\\n)[ \t]*/g, '');
}

function urlDecode(s: string): string {
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (m) => {
    try {
      return decodeURIComponent(m);
    } catch {
      return m;
    }
  });
}

function base64Decodings(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(B64_RUN)) {
    const run = m[0].replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
    for (let off = 0; off < 4; off++) {
      const part = run.slice(off);
      const usable = part.slice(0, part.length - (part.length % 4));
      if (usable.length >= 8) out.push(Buffer.from(usable, 'base64').toString('latin1'));
    }
  }
  return out;
}

function hexDecodings(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(HEX_RUN)) {
    for (let off = 0; off < 2; off++) {
      const part = m[0].slice(off);
      out.push(Buffer.from(part.slice(0, part.length - (part.length % 2)), 'hex').toString('latin1'));
    }
  }
  return out;
}

/** Every view the oracle reads (latin1 strings of bytes). */
export function views(received: string | Uint8Array): string[] {
  const raw = typeof received === 'string' ? Buffer.from(received, 'utf8').toString('latin1') : Buffer.from(received).toString('latin1');
  const flat = [raw, jsonUnescape(raw), unwrap(raw), unwrap(jsonUnescape(raw)), urlDecode(raw), urlDecode(jsonUnescape(raw))];
  const once = flat.flatMap(base64Decodings);
  const twice = once.flatMap((d) => base64Decodings(unwrap(d)));
  return [...new Set([...flat, ...once, ...twice, ...flat.flatMap(hexDecodings)])];
}

/**
 * The first `minRun`-byte run of the secret found in any view, or
 * undefined. Returns the offset within the secret, never the secret.
 */
export function exposure(received: string | Uint8Array, secret: string, minRun = 8): number | undefined {
  const s = Buffer.from(secret, 'utf8').toString('latin1');
  const grams = new Set<string>();
  for (let i = 0; i + minRun <= s.length; i++) grams.add(s.slice(i, i + minRun));
  for (const v of views(received)) {
    if (v.length < minRun) continue;
    for (const g of grams) if (v.includes(g)) return s.indexOf(g);
  }
  return undefined;
}
