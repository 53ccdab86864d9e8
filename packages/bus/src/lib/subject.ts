import { BusError } from '../errors.js';

/** A subject is dot-separated tokens; no empty tokens, no whitespace. */
const TOKEN_RE = /^[^\s.*>]+$/;

/** Throws ERR_BUS_BAD_SUBJECT for a malformed subject (wildcards allowed only when `pattern`). */
export function checkSubject(subject: string, pattern = false): void {
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 1024) {
    throw new BusError('ERR_BUS_BAD_SUBJECT', 'subject must be a non-empty string of at most 1024 characters');
  }
  // Every durable publish checks its subject: a plain ASCII one is checked in one pass, anything else below.
  if (plainSubject(subject)) return;
  const tokens = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (pattern && t === '*') continue;
    if (pattern && t === '>' && i === tokens.length - 1) continue;
    if (!TOKEN_RE.test(t)) {
      throw new BusError('ERR_BUS_BAD_SUBJECT', `invalid subject "${subject}": bad token "${t}"`);
    }
  }
}

/**
 * True only for a subject the token check below accepts without wildcards: ASCII, no whitespace, no `*`
 * or `>`, no empty token. False means "not sure" (non-ASCII, a wildcard, a bad subject): the full check decides.
 */
function plainSubject(subject: string): boolean {
  let prevDot = true;
  for (let i = 0; i < subject.length; i++) {
    const c = subject.charCodeAt(i);
    if (c === 46) {
      if (prevDot) return false;
      prevDot = true;
      continue;
    }
    // 0x21..0x7e minus `*` and `>`: visible ASCII (whitespace, controls and non-ASCII go the long way).
    if (c <= 32 || c >= 127 || c === 42 || c === 62) return false;
    prevDot = false;
  }
  return !prevDot;
}

/** NATS matching: `*` matches one token, a trailing `>` one or more. */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const pt = p[i]!;
    if (pt === '>') return s.length > i;
    if (i >= s.length) return false;
    if (pt !== '*' && pt !== s[i]) return false;
  }
  return p.length === s.length;
}

/** True when some subject matches both patterns (NATS' "subjects collide": overlapping consumer filters). */
export function subjectsCollide(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === '>' || q === '>') return p !== undefined && q !== undefined;
    if (p === undefined || q === undefined) return false;
    if (p !== '*' && q !== '*' && p !== q) return false;
  }
  return true;
}
