import { z } from 'zod';
import { formatError, nonEmpty, posInt } from '../lib/common.js';

/** `bus`: NATS when natsUrl is set, else the in-process bus persisting under dataDir. */
export const busSchema = z
  .strictObject({
    natsUrl: z.url({ protocol: /^(nats|tls|ws|wss)$/, error: formatError('expected a nats://, tls://, ws:// or wss:// URL') }).optional(),
    dataDir: nonEmpty.default('./.agentgate'),
    streams: z
      .strictObject({
        maxBytes: posInt.default(1024 * 1024 * 1024),
        replicas: z.number().int().min(1).max(5).default(1),
      })
      .prefault({}),
  })
  .prefault({});

export type BusConfig = z.output<typeof busSchema>;
