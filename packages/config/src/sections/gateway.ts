import { z } from 'zod';
import { httpUrl, nonEmpty, port, posInt } from '../lib/common.js';

/** `gateway`: where the proxy listens and the limits it enforces on every request. */
export const gatewaySchema = z
  .strictObject({
    listen: z
      .strictObject({
        // Loopback by default: exposing the gateway is an explicit decision.
        host: nonEmpty.default('127.0.0.1'),
        port: port.default(8080),
      })
      .prefault({}),
    publicUrl: httpUrl.optional(),
    limits: z
      .strictObject({
        maxHeaderBytes: posInt.default(16384),
        // Bodies are streamed; this caps one request (a large git push fits).
        maxBodyBytes: posInt.default(1024 * 1024 * 1024),
        requestTimeoutMs: posInt.default(300_000),
        idleTimeoutMs: posInt.default(60_000),
      })
      .prefault({}),
  })
  .prefault({});

export type GatewayConfig = z.output<typeof gatewaySchema>;
