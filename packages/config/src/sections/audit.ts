import { z } from 'zod';
import { httpUrl, nonEmpty, posInt } from '../lib/common.js';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');
/** One node's URL, or several nodes of the same cluster (the client spreads requests and skips a node that is down). */
const searchNodes = z.union([httpUrl, z.array(httpUrl).min(1, 'expected at least one URL').max(32, 'expected at most 32 node URLs')]);
const indexPrefix = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected a lower-case index prefix');

/** Where indexed events go. Credentials are named by environment variable, never written here. */
export const sinkSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('local'), path: nonEmpty }),
  /** An export of every event as an OCSF 1.3 record, one JSON object per line of `path` (write-only; not read by trail/verify). */
  z.strictObject({ type: z.literal('ocsf'), path: nonEmpty }),
  z
    .strictObject({
      type: z.literal('opensearch'),
      url: searchNodes,
      indexPrefix: indexPrefix.optional(),
      username: nonEmpty.optional(),
      passwordEnv: envName.optional(),
    })
    .refine((s) => (s.username === undefined) === (s.passwordEnv === undefined), {
      message: 'username and passwordEnv go together',
      path: ['passwordEnv'],
    }),
  z.strictObject({ type: z.literal('elasticsearch'), url: searchNodes, indexPrefix: indexPrefix.optional(), apiKeyEnv: envName.optional() }),
]);

/** `audit`: sinks, chain checkpoints and indexing batches. */
export const auditSchema = z
  .strictObject({
    sinks: z.array(sinkSchema).default([{ type: 'local', path: './.agentgate/audit' }]),
    indexPrefix: indexPrefix.default('agentgate-audit'),
    /** Chain partition of this writer instance; parallel writers each need their own. */
    partition: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected letters, digits, _ or - (at most 64)')
      .default('writer-0'),
    /** Redelivery delay of an unacked event (the consumer's ack wait). */
    ackWaitMs: posInt.default(30_000),
    checkpoint: z
      .strictObject({
        everyEvents: posInt.default(1000),
        everySeconds: posInt.default(60),
        /** Also sign once the chain head has been still this long, so a burst's tail is covered moments after it ends. */
        idleMs: posInt.default(2000),
        /** Signing key file for checkpoints (JWS); generated under dataDir when absent. */
        keyPath: nonEmpty.optional(),
      })
      .prefault({}),
    batch: z
      .strictObject({
        maxEvents: posInt.default(500),
        maxBytes: posInt.default(5 * 1024 * 1024),
        maxWaitMs: posInt.default(1000),
      })
      .prefault({}),
  })
  .prefault({});

export type AuditConfig = z.output<typeof auditSchema>;
export type SinkConfig = z.output<typeof sinkSchema>;
