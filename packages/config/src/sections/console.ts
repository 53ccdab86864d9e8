import { z } from 'zod';
import { formatError, nonEmpty, posInt } from '../lib/common.js';

const url = z.url({ protocol: /^https?$/, error: formatError('expected an http(s) URL') });

/** Where the console expects the identity provider to send the browser back. */
export const CONSOLE_CALLBACK_PATH = '/_agentgate/console/callback';

/**
 * `console`: the approvers' web page under `/_agentgate/console`, signed in
 * with a human identity provider (OIDC authorization code + PKCE). Absent:
 * no console (the approvals REST API and CLI still work).
 */
export const consoleSchema = z
  .strictObject({
    /** The human IdP's issuer URL (discovery at `<issuer>/.well-known/openid-configuration`); plain http only on loopback. */
    issuer: url,
    clientId: nonEmpty,
    /** A configured secret holding the client secret; absent: a public client (PKCE only). */
    clientSecretRef: nonEmpty.optional(),
    /** This gateway's callback as the browser reaches it; its path must be /_agentgate/console/callback. */
    redirectUrl: url,
    /**
     * A configured secret: the key that signs session cookies (at least 32
     * bytes). Absent: a random key per process (sessions end with the
     * process, and replicas do not share them).
     */
    sessionSecretRef: nonEmpty.optional(),
    /** The ID-token / userinfo claim that lists the user's groups (compared with approvals.approverGroups). */
    approverGroupsClaim: nonEmpty.default('groups'),
    scopes: z.array(nonEmpty).default(['openid', 'profile', 'email']),
    /** How long a login lasts. */
    sessionTtlMs: posInt
      .min(60_000)
      .max(7 * 86_400_000)
      .default(8 * 3_600_000),
    /**
     * Four eyes for people: a requester's identity claim (key, e.g. GitHub's
     * `actor`) is the same human as the login whose claim (value) has the same value.
     */
    identityClaims: z.record(nonEmpty, nonEmpty).default({ actor: 'preferred_username', user_login: 'preferred_username' }),
  })
  .refine((c) => new URL(c.redirectUrl).pathname === CONSOLE_CALLBACK_PATH, {
    message: `the path must be ${CONSOLE_CALLBACK_PATH}`,
    path: ['redirectUrl'],
  })
  .optional();

export type ConsoleConfig = NonNullable<z.output<typeof consoleSchema>>;
