import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A signed-in approver, as the session cookie carries it. */
export interface ConsoleUser {
  /** Random id of this login (the approver's `sessionId` is `console:<sid>`). */
  sid: string;
  issuer: string;
  subject: string;
  /** A display name (preferred_username, name or email), for the page header. */
  name: string;
  groups: string[];
  /** The login's values of `console.identityClaims`, under the requester's claim names (four eyes). */
  identity: Record<string, string>;
  /** Expiry, epoch ms. */
  exp: number;
}

/** The short-lived state of a login in progress (state, nonce, PKCE verifier), kept in its own cookie. */
export interface LoginState {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  exp: number;
}

/**
 * Seals and opens cookie values: base64url JSON, a dot, and an HMAC-SHA256
 * of it under the session key. Nothing is stored server-side; a value that
 * was changed, signed with another key, or is past its `exp` opens to
 * undefined. Also derives the CSRF token of a login (synchronizer token
 * bound to the session id, so it needs no storage either).
 */
export class CookieSealer {
  readonly #key: Buffer;
  constructor(key: Buffer) {
    if (key.length < 32) throw new Error('the console session key must be at least 32 bytes');
    this.#key = key;
  }

  seal(value: { exp: number }, purpose: string): string {
    const body = Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${body}.${this.#mac(purpose, body)}`;
  }

  open<T extends { exp: number }>(cookie: string | undefined, purpose: string, now = Date.now()): T | undefined {
    if (!cookie || cookie.length > 8192) return undefined;
    const dot = cookie.indexOf('.');
    if (dot <= 0) return undefined;
    const body = cookie.slice(0, dot);
    if (!equal(cookie.slice(dot + 1), this.#mac(purpose, body))) return undefined;
    try {
      const v = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
      return typeof v.exp === 'number' && v.exp > now ? v : undefined;
    } catch {
      return undefined;
    }
  }

  /** The CSRF token of a login: only a page served to that session can know it. */
  csrfToken(sid: string): string {
    return this.#mac('csrf', sid);
  }

  checkCsrf(sid: string, token: unknown): boolean {
    return typeof token === 'string' && equal(token, this.csrfToken(sid));
  }

  #mac(purpose: string, body: string): string {
    // The purpose is part of the MAC: a login-state cookie can never pass as a session, or a CSRF token as either.
    return createHmac('sha256', this.#key).update(`${purpose}\u0000${body}`).digest('base64url');
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function randomId(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}

/** Reads one cookie from a Cookie header (first occurrence). */
export function cookieOf(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
