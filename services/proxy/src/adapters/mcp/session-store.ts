import { createHash } from 'node:crypto';
import type { Bus, Kv } from '@agentgate/bus';

/** The bucket binding MCP sessions to the principals that opened them. */
export const MCP_SESSION_BUCKET = 'mcp-sessions';
// The bucket forgets a binding after this long whatever the connection says (the per-connection TTL is checked on read).
const BUCKET_TTL_MS = 7 * 24 * 3600_000;

/** Who opened a session: the same issuer, subject and gateway session must use it. */
export interface SessionOwner {
  issuer: string;
  subject: string;
  sessionId: string;
}

/**
 * Which principal opened each `Mcp-Session-Id` of a connection. A session
 * id is not a credential (the upstream credential is the gateway's), but it
 * names another agent's conversation with a server: one principal must not
 * ride on another's session, so every request with a session id is checked
 * against the principal that opened it.
 */
export interface McpSessionStore {
  /** Records that `owner` opened the session (after the upstream's initialize answer named it). */
  bind(connection: string, mcpSessionId: string, owner: SessionOwner, ttlMs: number): Promise<void>;
  /** The owner of a live session, or undefined when unknown, expired or ended. */
  owner(connection: string, mcpSessionId: string): Promise<SessionOwner | undefined>;
  /** Forgets the session (after the upstream accepted its DELETE). */
  end(connection: string, mcpSessionId: string): Promise<void>;
}

/** A hash of the session id: KV keys allow few characters, and the trail records the hash, never the id. */
export function sessionHash(connection: string, mcpSessionId: string): string {
  return createHash('sha256').update(connection, 'utf8').update('\u0000').update(mcpSessionId, 'utf8').digest('hex');
}

interface Stored extends SessionOwner {
  expiresAt: number;
}

/** The store on a bus KV bucket (NATS KV with several replicas, or the in-process bus). */
export function kvMcpSessionStore(bus: Bus, now: () => number = Date.now): McpSessionStore {
  let kv: Promise<Kv> | undefined;
  // Opened lazily and re-opened after a failure: a bus that is not ready at start-up must not stop the proxy.
  const bucket = (): Promise<Kv> => {
    kv ??= bus.kv(MCP_SESSION_BUCKET, { history: 1, ttlMs: BUCKET_TTL_MS }).catch((err: unknown) => {
      kv = undefined;
      throw err;
    });
    return kv;
  };
  return {
    async bind(connection, mcpSessionId, owner, ttlMs) {
      const value: Stored = { issuer: owner.issuer, subject: owner.subject, sessionId: owner.sessionId, expiresAt: now() + ttlMs };
      await (await bucket()).put(sessionHash(connection, mcpSessionId), JSON.stringify(value));
    },
    async owner(connection, mcpSessionId) {
      const e = await (await bucket()).get(sessionHash(connection, mcpSessionId));
      if (!e || e.operation !== 'PUT') return undefined;
      let v: Stored;
      try {
        v = e.json<Stored>();
      } catch {
        return undefined;
      }
      if (typeof v?.expiresAt !== 'number' || v.expiresAt <= now()) return undefined;
      return { issuer: v.issuer, subject: v.subject, sessionId: v.sessionId };
    },
    async end(connection, mcpSessionId) {
      await (await bucket()).delete(sessionHash(connection, mcpSessionId));
    },
  };
}

/** Whether `p` is the session's owner. */
export function isOwner(owner: SessionOwner, p: SessionOwner): boolean {
  return owner.issuer === p.issuer && owner.subject === p.subject && owner.sessionId === p.sessionId;
}
