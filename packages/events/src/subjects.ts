import { hash } from 'node:crypto';
import { EventError } from './errors.js';
import { upgradeEvent } from './upgrade.js';
import { validateParsedEvent } from './validate.js';
import type { AuditEvent } from './types.js';

/**
 * Durable streams of the audit pipeline, defined once here: name, captured subjects, retention, and
 * whether deleting or purging messages through the API is denied (acks still remove messages from a
 * work queue: nats-server checks deny_delete only in its delete API). Every service declares a stream
 * with `auditStreamConfig`, so they never flip a stream's settings back and forth.
 */
export const STREAMS = Object.freeze({
  /**
   * Events as the proxy recorded them (may hold unmasked data). A work queue: an event leaves once the
   * masking service acked it (after publishing its masked form), so unmasked data stays only until masked
   * and the stream holds only the masking backlog.
   */
  AUDIT_RAW: Object.freeze({ name: 'AUDIT_RAW', subjects: Object.freeze(['audit.raw.>']), retention: 'workqueue', protect: true }),
  /** Masked events; a work queue: an event leaves once the audit writer acked it (indexed in every sink). */
  AUDIT_CLEAN: Object.freeze({ name: 'AUDIT_CLEAN', subjects: Object.freeze(['audit.clean.>']), retention: 'workqueue', protect: true }),
  /** Events that could not be processed, kept for an operator (limits: kept until the byte limit). */
  AUDIT_DLQ: Object.freeze({ name: 'AUDIT_DLQ', subjects: Object.freeze(['audit.dlq.>']), retention: 'limits', protect: true }),
  /** Signed chain checkpoints (limits: the evidence stays). */
  AUDIT_CHECKPOINTS: Object.freeze({ name: 'AUDIT_CHECKPOINTS', subjects: Object.freeze(['audit.checkpoint.>']), retention: 'limits', protect: true }),
} as const);

/** One of STREAMS. */
export type AuditStreamDef = (typeof STREAMS)[keyof typeof STREAMS];

/** The deployment's stream limits (`bus.streams` in the configuration). */
export interface AuditStreamLimits {
  maxBytes: number;
  maxMsgs?: number | undefined;
  replicas: number;
}

/** The declaration of an audit stream, in the shape `bus.streams.ensure` takes. */
export interface AuditStreamConfig {
  name: string;
  subjects: string[];
  retention: 'limits' | 'workqueue';
  maxBytes: number;
  maxMsgs?: number;
  replicas: number;
  denyDelete: boolean;
  denyPurge: boolean;
}

/** How every service declares an audit stream: the definition above plus the configured limits (DiscardNew). */
export function auditStreamConfig(def: AuditStreamDef, limits: AuditStreamLimits): AuditStreamConfig {
  return {
    name: def.name,
    subjects: [...def.subjects],
    retention: def.retention,
    maxBytes: limits.maxBytes,
    ...(limits.maxMsgs !== undefined && { maxMsgs: limits.maxMsgs }),
    replicas: limits.replicas,
    // The trail is append-only: nobody with bus access may erase it.
    denyDelete: def.protect,
    denyPurge: def.protect,
  };
}

/** Request/reply subjects of the services. */
export const SUBJECTS = Object.freeze({
  IDENTITY_VERIFY: 'identity.verify',
  SECRETS_LEASE: 'secrets.lease',
  SECRETS_MASKLIST: 'secrets.masklist',
});

export const AUDIT_RAW_PREFIX = 'audit.raw';
export const AUDIT_CLEAN_PREFIX = 'audit.clean';
export const AUDIT_DLQ_PREFIX = 'audit.dlq';
export const AUDIT_CHECKPOINT_PREFIX = 'audit.checkpoint';

const MAX_TOKEN = 64;

/**
 * Encodes any string as one NATS subject token: letters, digits, `_` and
 * `-` pass; every other UTF-8 byte becomes `~XX` (upper-case hex), so `.`,
 * `*`, `>` and whitespace never reach the subject (a `.` would split the
 * token, `*`/`>` would turn a publish subject into a wildcard). The empty
 * string becomes `~`. Tokens longer than 64 characters are replaced by
 * `~h` + the first 32 hex characters of their SHA-256, keeping subjects
 * short while staying distinct in practice.
 */
export function encodeSubjectToken(s: string): string {
  if (s === '') return '~';
  // The common case (session ids): every character passes, the token is the string itself.
  if (s.length <= MAX_TOKEN && allSafe(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (safeCode(c)) out += s[i];
    else if (c < 0x80) out += HEX_ESCAPE[c];
    else {
      // Non-ASCII: escape the UTF-8 bytes of the whole code point (a surrogate pair is one code point).
      const ch = String.fromCodePoint(s.codePointAt(i)!);
      i += ch.length - 1;
      for (const b of Buffer.from(ch, 'utf8')) out += `~${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
    // Already too long: the result is the hashed form whatever follows.
    if (out.length > MAX_TOKEN) break;
  }
  if (out.length > MAX_TOKEN) return `~h${hash('sha256', s, 'hex').slice(0, 32)}`;
  return out;
}

/** `~XX` of every ASCII code (only the unsafe ones are used). */
const HEX_ESCAPE = Array.from({ length: 128 }, (_, c) => `~${c.toString(16).toUpperCase().padStart(2, '0')}`);

function safeCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;
}

/** True when every character of `s` is a letter, digit, `_` or `-` , without a regex per character. */
function allSafe(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!safeCode(s.charCodeAt(i))) return false;
  return true;
}

// Session tokens by session id: a session sends many events, and its id (e.g. `gh:owner/repo:run`) needs escaping.
// Bounded: cleared when full (a handful of live sessions per proxy; the bound only guards against a misuse).
const sessionTokens = new Map<string, string>();
const MAX_SESSION_TOKENS = 1024;

function sessionToken(sessionId: string): string {
  let t = sessionTokens.get(sessionId);
  if (t === undefined) {
    t = encodeSubjectToken(sessionId);
    if (sessionTokens.size >= MAX_SESSION_TOKENS) sessionTokens.clear();
    sessionTokens.set(sessionId, t);
  }
  return t;
}

/** Reverses encodeSubjectToken (hashed tokens cannot be reversed: returns null for them). */
export function decodeSubjectToken(token: string): string | null {
  if (token === '~') return '';
  if (token.startsWith('~h')) return null;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const c = token[i]!;
    if (c === '~') {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(c.charCodeAt(0));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `audit.raw.<session token>`: per-session subjects let consumers filter one session. */
export function rawSubject(event: Pick<AuditEvent, 'agentgate'>): string {
  return `${AUDIT_RAW_PREFIX}.${sessionToken(event.agentgate.session.id)}`;
}

/** `audit.clean.<session token>`. */
export function cleanSubject(event: Pick<AuditEvent, 'agentgate'>): string {
  return `${AUDIT_CLEAN_PREFIX}.${sessionToken(event.agentgate.session.id)}`;
}

/** `audit.dlq.<stage token>` (stage e.g. 'masking', 'writer'). */
export function dlqSubject(stage: string): string {
  return `${AUDIT_DLQ_PREFIX}.${encodeSubjectToken(stage)}`;
}

/** `audit.checkpoint.<partition token>`. */
export function checkpointSubject(partition: string): string {
  return `${AUDIT_CHECKPOINT_PREFIX}.${encodeSubjectToken(partition)}`;
}

/** The de-duplication message id (`Nats-Msg-Id`) of an event: its event id. */
export function eventMsgId(event: Pick<AuditEvent, 'event'>): string {
  return event.event.id;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Events travel on the bus as UTF-8 JSON bytes. `Buffer.from` (a Uint8Array) rather than a TextEncoder:
 * the same bytes, and small events are cut from node's shared pool instead of each getting its own allocation.
 */
export function encodeEvent(event: AuditEvent): Uint8Array {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/**
 * Parses and validates event bytes from the bus (ERR_EVENT_INVALID on bad
 * JSON or shape). An event of schema version 1, still in a stream from
 * before an upgrade, is rewritten into the current layout first (upgrade.ts).
 */
export function decodeEvent(data: Uint8Array): AuditEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch (cause) {
    throw new EventError('ERR_EVENT_INVALID', 'event bytes are not UTF-8 JSON', { cause });
  }
  // A parsed value is plain JSON: the compiled check stands in for zod when the event is valid.
  return validateParsedEvent(upgradeEvent(parsed));
}
