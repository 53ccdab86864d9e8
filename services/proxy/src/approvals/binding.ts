import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { canonicalize } from '@agentgate/events';
import type { Masker } from '@agentgate/masking';
import { ProxyError } from '../errors.js';
import type { ApprovalBinding, BodyBinding, BodyPreview } from './record.js';

/**
 * Request headers an approver is shown (and that the binding digest covers).
 * An allowlist, not a denylist: Authorization, Cookie, Proxy-Authorization and
 * every `X-Api-Key`-like header stay out, whatever a client invents. Framing
 * (Content-Length, Transfer-Encoding) is not shown: the body binding states the
 * exact size, and the forwarded request is re-framed to it.
 */
export const SHOWN_HEADERS: readonly string[] = [
  'content-type',
  'content-encoding',
  'content-language',
  'accept',
  'user-agent',
  'if-match',
  'if-none-match',
  'if-unmodified-since',
  'idempotency-key',
  'x-github-api-version',
  // Method overrides change what an upstream does with the request: the approver should see them.
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
];

const MAX_HEADER_CHARS = 512;
/** Characters of the masked body shown to the approver. */
export const PREVIEW_CHARS = 4096;

/** What the binding is built from (see {@link ApprovalBinding}). */
export interface BindingInput {
  kind: string;
  connection: string;
  attributes: Record<string, unknown>;
  request?: { method: string; path: string; rawQuery: string; headers: IncomingHttpHeaders };
  body: BodyBinding | null;
  parts?: ReadonlyArray<{ kind: string; attributes: Record<string, unknown> }>;
}

/** Builds the binding: masked attributes and request, the body digest, and the digest over all of it. */
export function buildBinding(input: BindingInput, masker: Masker): ApprovalBinding {
  const unsigned: Omit<ApprovalBinding, 'digest'> = {
    kind: input.kind,
    connection: input.connection,
    attributes: maskValue(masker, input.attributes),
    ...(input.request && {
      request: {
        method: input.request.method,
        path: masker.maskText(input.request.path).text,
        query: masker.maskText(input.request.rawQuery).text,
        headers: shownHeaders(input.request.headers, masker),
      },
    }),
    body: input.body,
    ...(input.parts && { parts: input.parts.map((p) => ({ kind: p.kind, attributes: maskValue(masker, p.attributes) })) }),
  };
  return { ...unsigned, digest: bindingDigest(unsigned) };
}

/** SHA-256 (hex) of the RFC 8785 canonical JSON of a binding without its digest. */
export function bindingDigest(b: Omit<ApprovalBinding, 'digest'> | ApprovalBinding): string {
  const { digest: _ignored, ...rest } = b as ApprovalBinding;
  let text: string;
  try {
    text = canonicalize(rest);
  } catch (err) {
    // E.g. a lone surrogate from a JSON escape: what cannot be bound exactly cannot be approved.
    throw new ProxyError('ERR_BAD_REQUEST', 'the action cannot be bound for approval (attributes are not representable as canonical JSON)', { cause: err });
  }
  return createHash('sha256').update(text).digest('hex');
}

function shownHeaders(headers: IncomingHttpHeaders, masker: Masker): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of SHOWN_HEADERS) {
    const v = headers[name];
    if (v === undefined) continue;
    const text = Array.isArray(v) ? v.join(', ') : String(v);
    out[name] = masker.maskText(text.slice(0, MAX_HEADER_CHARS)).text;
  }
  return out;
}

/** A JSON-like value masked by detectors and sensitive keys; anything masking breaks is dropped, never kept unmasked. */
function maskValue(masker: Masker, value: Record<string, unknown>): Record<string, unknown> {
  try {
    return masker.maskJson(value).value as Record<string, unknown>;
  } catch {
    return { masked: true };
  }
}

// A JSON member `"key": value` where value is a string or a scalar; linear (the string alternatives are disjoint).
const JSON_MEMBER = /"((?:[^"\\\n]|\\.){1,128})"(\s*:\s*)("(?:[^"\\\n]|\\.)*"|[^\s,}\]]+)/g;

/**
 * The approver's view of a body: UTF-8 text with sensitive JSON members
 * (`"password": …`, `"token": …`) and detector matches masked, then cut to
 * {@link PREVIEW_CHARS}. Masking runs over the whole scanned head before
 * cutting, so a secret on the cut is masked whole. Binary bodies are not
 * shown (their digest still binds them).
 */
export function bodyPreview(head: Buffer, totalBytes: number, masker: Masker): BodyPreview | null {
  if (totalBytes === 0) return null;
  const text = decodeText(head);
  if (text === undefined) return { encoding: 'binary', text: '', truncated: false, masked: 0 };
  let masked = 0;
  const sensitive = new Map<string, boolean>();
  const keyed = text.replace(JSON_MEMBER, (whole, key: string, sep: string) => {
    let hit = sensitive.get(key);
    if (hit === undefined) {
      // The masker's own notion of a sensitive key (names and suffixes), asked once per key name.
      hit = masker.maskJson({ [key]: 'x' }).findings.length > 0;
      sensitive.set(key, hit);
    }
    if (!hit) return whole;
    masked++;
    return `"${key}"${sep}"[REDACTED:sensitive-key]"`;
  });
  const scanned = masker.maskText(keyed);
  masked += scanned.findings.reduce((n, f) => n + f.count, 0);
  const cut = scanned.text.length > PREVIEW_CHARS;
  return { encoding: 'text', text: cut ? scanned.text.slice(0, PREVIEW_CHARS) : scanned.text, truncated: cut || head.length < totalBytes, masked };
}

/** UTF-8 text without control bytes other than tab/CR/LF, else undefined (binary). A multi-byte character cut at the end is dropped. */
function decodeText(head: Buffer): string | undefined {
  let text: string;
  try {
    // stream: true leaves an incomplete trailing sequence (the head may end mid-character) undecoded instead of
    // failing; the decoder is never flushed, so that remainder is simply dropped.
    text = new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
  } catch {
    return undefined;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: binary detection looks for exactly these bytes.
  return /[\u0000-\u0008\u000e-\u001f\u007f]/.test(text) ? undefined : text;
}
