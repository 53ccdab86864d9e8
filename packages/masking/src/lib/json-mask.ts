import type { Finding, MaskTextResult } from '../types.js';
import { FindingTally } from './findings.js';
import { tag } from './scanner.js';

/** Key names (normalised: lowercase, no `-`, `_`, `.`) whose values are secrets whatever they look like. */
export const SENSITIVE_KEYS: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'token',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'privatekey',
  'apikey',
  'xapikey',
  'clientsecret',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'sessiontoken',
  'authtoken',
  'xauthtoken',
  'secretkey',
  'secretaccesskey',
  'credentials',
  'credential',
  'connectionstring',
  'xamzsecuritytoken',
  'bearer',
  'jwt',
];

/** Endings that make a key sensitive (`github_token`, `db_password`); `max_tokens` ends in "tokens" and is not. */
const SENSITIVE_SUFFIXES = ['password', 'passwd', 'passphrase', 'secret', 'token', 'apikey', 'privatekey', 'secretkey'];

const MAX_DEPTH = 64;
export const SENSITIVE_TYPE = 'sensitive-key';

export function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_.\s]/g, '');
}

/** Walks a JSON-like value, masking strings and replacing values of sensitive keys whole. */
export class JsonMasker {
  private readonly tally = new FindingTally();
  constructor(
    private readonly maskText: (s: string) => MaskTextResult,
    private readonly sensitive: ReadonlySet<string>,
  ) {}

  run(value: unknown): { value: unknown; findings: Finding[] } {
    const out = this.walk(value, '', 0);
    return { value: out, findings: this.tally.list() };
  }

  private isSensitive(key: string): boolean {
    const k = normaliseKey(key);
    return this.sensitive.has(k) || SENSITIVE_SUFFIXES.some((s) => k.endsWith(s));
  }

  private walk(value: unknown, path: string, depth: number): unknown {
    if (typeof value === 'string') {
      const r = this.maskText(value);
      this.tally.addAll(r.findings, path || '$');
      return r.text;
    }
    if (value === null || typeof value !== 'object') return value;
    // Deeper than any real event: replace rather than recurse without bound (fail closed).
    if (depth >= MAX_DEPTH) {
      this.tally.add('depth-limit', undefined, path || '$');
      return tag('depth-limit');
    }
    const json = (value as { toJSON?: unknown }).toJSON;
    if (typeof json === 'function') return this.walk(json.call(value), path, depth + 1);
    if (Array.isArray(value)) return value.map((v, i) => this.walk(v, `${path}[${i}]`, depth + 1));
    if (ArrayBuffer.isView(value)) return this.walk(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'), path, depth + 1);
    const out: Record<string, unknown> = {};
    for (const [rawKey, v] of Object.entries(value)) {
      // Keys are scanned too: a token used as a map key must not survive in the key or the path.
      const kr = this.maskText(rawKey);
      let key = kr.text;
      while (Object.hasOwn(out, key)) key = `${key}#`;
      const childPath = path ? `${path}.${key}` : key;
      this.tally.addAll(kr.findings, childPath);
      if (this.isSensitive(rawKey) && isSecretValue(v)) {
        // Scan anyway so brokered secrets are still reported by ref; the key counts only when nothing
        // else did, so one secret is one finding.
        const before = this.tally.total;
        this.walkDiscard(v, childPath, depth + 1);
        if (this.tally.total === before) this.tally.add(SENSITIVE_TYPE, undefined, childPath);
        out[key] = tag(SENSITIVE_TYPE);
      } else {
        out[key] = this.walk(v, childPath, depth + 1);
      }
    }
    return out;
  }

  private walkDiscard(v: unknown, path: string, depth: number): void {
    this.walk(v, path, depth);
  }
}

/** Empty strings, null and booleans carry nothing to hide; everything else under a sensitive key goes. */
function isSecretValue(v: unknown): boolean {
  if (v === null || v === undefined || typeof v === 'boolean') return false;
  if (typeof v === 'string') return v.length > 0;
  return true;
}
