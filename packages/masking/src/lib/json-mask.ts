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

/**
 * The sensitive-key test of a masker: a key is sensitive when its normalised form is in `sensitive` or
 * ends in one of the sensitive suffixes. Answers for keys the caller calls clean (`remember`: nothing was
 * found in the key itself) are remembered, bounded: events have few distinct keys, and no secret is kept.
 */
export function sensitiveKeyTest(sensitive: ReadonlySet<string>): (key: string, remember: boolean) => boolean {
  const known = new Map<string, boolean>();
  return (key, remember) => {
    let v = known.get(key);
    if (v === undefined) {
      const k = normaliseKey(key);
      v = sensitive.has(k) || SENSITIVE_SUFFIXES.some((s) => k.endsWith(s));
      if (remember && key.length <= 256) {
        if (known.size >= 4096) known.clear();
        known.set(key, v);
      }
    }
    return v;
  };
}

/** A path step: an object key (as masked) or an array index. */
type Step = string | number;

/** `a.b[0].c` of the steps ('$' for the root). */
function pathOf(steps: readonly Step[]): string {
  let p = '';
  for (const s of steps) p = typeof s === 'number' ? `${p}[${s}]` : p ? `${p}.${s}` : s;
  return p || '$';
}

/**
 * Walks a JSON-like value, masking strings and replacing values of sensitive keys whole. The path of
 * a node is kept as steps and spelt out only where something is found.
 */
export class JsonMasker {
  private readonly tally = new FindingTally();
  private readonly steps: Step[] = [];
  /**
   * `isClean`, when given, answers true for a string already known to hold nothing (the masker's memo of
   * clean strings): it is kept as it is without a call to `maskText` and its result object.
   *
   * `share`: plain objects and arrays the walk leaves unchanged are returned as they are (the result
   * shares them with the input) rather than copied; only the path to a change is new.
   */
  constructor(
    private readonly maskText: (s: string) => MaskTextResult,
    private readonly isSensitive: (key: string, remember: boolean) => boolean,
    private readonly isClean: (s: string) => boolean = () => false,
    private readonly share = false,
  ) {}

  run(value: unknown): { value: unknown; findings: Finding[] } {
    const out = this.walk(value, 0);
    return { value: out, findings: this.tally.list() };
  }

  private walk(value: unknown, depth: number): unknown {
    if (typeof value === 'string') {
      if (this.isClean(value)) return value;
      const r = this.maskText(value);
      if (r.findings.length > 0) this.tally.addAll(r.findings, pathOf(this.steps));
      return r.text;
    }
    if (value === null || typeof value !== 'object') return value;
    // Deeper than any real event: replace rather than recurse without bound (fail closed).
    if (depth >= MAX_DEPTH) {
      this.tally.add('depth-limit', undefined, pathOf(this.steps));
      return tag('depth-limit');
    }
    const json = (value as { toJSON?: unknown }).toJSON;
    if (typeof json === 'function') return this.walk(json.call(value), depth + 1);
    const steps = this.steps;
    if (Array.isArray(value)) {
      // Shared: copied from the first element that changed (the ones before it are the same).
      let out = this.share && Object.getPrototypeOf(value) === Array.prototype ? undefined : new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) {
        steps.push(i);
        const w = this.walk(value[i], depth + 1);
        steps.pop();
        if (out === undefined) {
          if (w === value[i]) continue;
          out = value.slice(0, i);
        }
        out[i] = w;
      }
      return out ?? value;
    }
    if (ArrayBuffer.isView(value)) return this.walk(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'), depth + 1);
    const src = value as Record<string, unknown>;
    const proto = Object.getPrototypeOf(value);
    // Shared: copied from the first key or value that changed (the members before it are the same).
    let out: Record<string, unknown> | undefined = this.share && (proto === Object.prototype || proto === null) ? undefined : {};
    // Until a key is rewritten, the keys written are the source's own, which cannot collide.
    let renamed = false;
    for (const rawKey in value) {
      if (!Object.hasOwn(value, rawKey)) continue;
      const v = src[rawKey];
      // Keys are scanned too: a token used as a map key must not survive in the key or the path.
      const kr = this.isClean(rawKey) ? undefined : this.maskText(rawKey);
      let key = kr === undefined ? rawKey : kr.text;
      if (key !== rawKey) {
        renamed = true;
        out ??= membersBefore(src, rawKey);
      }
      if (renamed) while (Object.hasOwn(out!, key)) key = `${key}#`;
      steps.push(key);
      const keyFound = kr !== undefined && kr.findings.length > 0;
      if (keyFound) this.tally.addAll(kr.findings, pathOf(steps));
      if (this.isSensitive(rawKey, !keyFound) && isSecretValue(v)) {
        // Scan anyway so brokered secrets are still reported by ref; the key counts only when nothing
        // else did, so one secret is one finding.
        const before = this.tally.total;
        this.walk(v, depth + 1);
        if (this.tally.total === before) this.tally.add(SENSITIVE_TYPE, undefined, pathOf(steps));
        out ??= membersBefore(src, rawKey);
        out[key] = tag(SENSITIVE_TYPE);
      } else {
        const w = this.walk(v, depth + 1);
        if (out === undefined && w !== v) out = membersBefore(src, rawKey);
        if (out !== undefined) out[key] = w;
      }
      steps.pop();
    }
    return out ?? value;
  }
}

/** A new object with `src`'s own members before `key` (unchanged so far), in their order. */
function membersBefore(src: Record<string, unknown>, key: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in src) {
    if (k === key) break;
    if (Object.hasOwn(src, k)) out[k] = src[k];
  }
  return out;
}

/** Empty strings, null and booleans carry nothing to hide; everything else under a sensitive key goes. */
function isSecretValue(v: unknown): boolean {
  if (v === null || v === undefined || typeof v === 'boolean') return false;
  if (typeof v === 'string') return v.length > 0;
  return true;
}
