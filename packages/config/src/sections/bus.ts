import { z } from 'zod';
import { formatError, nonEmpty, posInt } from '../lib/common.js';

const ratio = z.number().gt(0).lte(1);

/** `bus`: NATS when natsUrl is set, else the in-process bus persisting under dataDir. */
export const busSchema = z
  .strictObject({
    natsUrl: z.url({ protocol: /^(nats|tls|ws|wss)$/, error: formatError('expected a nats://, tls://, ws:// or wss:// URL') }).optional(),
    dataDir: nonEmpty.default('./.agentgate'),
    /** Per-service NATS user (deploy/nats/permissions.md), private reply inboxes and TLS. */
    nats: z
      .strictObject({
        user: nonEmpty.optional(),
        /** Environment variable holding the password (the password is never written in the file). */
        passwordEnv: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
          .optional(),
        /** A NATS .creds file (user JWT + nkey seed) instead of user/password. */
        credsFile: nonEmpty.optional(),
        /** e.g. `_INBOX_proxy`: replies to this service's requests arrive under it (subscribe permission `_INBOX_proxy.>`). */
        inboxPrefix: z
          .string()
          .regex(/^_INBOX[A-Za-z0-9_-]*$/, 'expected _INBOX followed by letters, digits, _ or -')
          .optional(),
        tls: z.strictObject({ caFile: nonEmpty.optional(), certFile: nonEmpty.optional(), keyFile: nonEmpty.optional() }).optional(),
      })
      .refine((n) => (n.user === undefined) === (n.passwordEnv === undefined), { message: 'user and passwordEnv go together', path: ['passwordEnv'] })
      .refine((n) => !(n.credsFile && n.user), { message: 'use either credsFile or user/passwordEnv', path: ['credsFile'] })
      .refine((n) => (n.tls?.certFile === undefined) === (n.tls?.keyFile === undefined), {
        message: 'certFile and keyFile go together',
        path: ['tls', 'keyFile'],
      })
      .optional(),
    /**
     * Limits of each audit stream (DiscardNew: a full stream refuses, the proxy then refuses requests).
     * AUDIT_RAW and AUDIT_CLEAN are work queues: they hold only the backlog the masking service and the
     * audit writer have not processed yet, so the limit is the outage they can ride out (README: capacity).
     */
    streams: z
      .strictObject({
        maxBytes: posInt.default(1024 * 1024 * 1024),
        /** Optional cap on the number of messages per stream (default: none, bytes decide). */
        maxMsgs: posInt.optional(),
        /**
         * NATS replicas of every audit stream and of the KV buckets the services create (approvals, chain heads,
         * exchanges, MCP sessions): 3 on a 3-node JetStream cluster (R3 survives one node), 1 on a single server.
         * Streams are updated to it at each start; a KV bucket keeps the count it was created with (raise it with
         * `nats stream edit KV_<bucket> --replicas 3`).
         */
        replicas: z.number().int().min(1).max(5).default(1),
        /** Fill ratios at which the proxy logs the stream level (warn; error at the last one) and readyz shows it. */
        fillAlerts: z
          .array(ratio)
          .min(1)
          .refine((a) => a.every((v, i) => i === 0 || v > a[i - 1]!), 'expected increasing ratios')
          .default([0.5, 0.8, 0.95]),
      })
      .prefault({}),
    /**
     * Outcome events (completed, failed…) the proxy could not publish wait in `<dataDir>/spool` (fsync'd,
     * owner-only) and are replayed in order once the bus takes them. Near the bound new requests are refused.
     */
    spool: z
      .strictObject({
        maxBytes: posInt.default(64 * 1024 * 1024),
      })
      .prefault({}),
  })
  .prefault({});

export type BusConfig = z.output<typeof busSchema>;
