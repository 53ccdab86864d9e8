import { z } from 'zod';
import { formatError, nonEmpty, posInt } from '../lib/common.js';

const ratio = z.number().gt(0).lte(1);

/** `bus`: NATS when natsUrl is set, else the in-process bus persisting under dataDir. */
export const busSchema = z
  .strictObject({
    natsUrl: z.url({ protocol: /^(nats|tls|ws|wss)$/, error: formatError('expected a nats://, tls://, ws:// or wss:// URL') }).optional(),
    dataDir: nonEmpty.default('./.agentgate'),
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
