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
    /** Name of this gateway instance in audit events (`observer.name`); default the host name. */
    name: nonEmpty.optional(),
    /**
     * Processes serving the proxy (`services/proxy` main only; `agentgate start` stays one process): above 1,
     * a primary forks this many workers (node:cluster) that share the listen socket, each with its own bus
     * connection, outcome spool file and caches; SIGTERM/SIGINT drains them all.
     */
    workers: z.number().int().min(1).max(64).default(1),
    auth: z
      .strictObject({
        /** Deadline of one identity.verify call; past it the request is refused with 503. */
        verifyTimeoutMs: posInt.default(2000),
        /** Verified principals are cached (by token hash, never past expiry) this long; 0 disables. */
        cacheTtlMs: z.number().int().min(0).max(300_000).default(30_000),
      })
      .prefault({}),
    audit: z
      .strictObject({
        /** Deadline of the audit stream's acknowledgement of an intent; past it the request is refused with 503. */
        ackTimeoutMs: posInt.default(2000),
        /**
         * Requests refused before authentication (bad tokens, malformed requests, unknown
         * connections) are recorded as `refused` events, one per source address and error
         * code per window with a count, so a flood or a token-guessing run cannot fill the
         * stream. Sources beyond `maxSources` in one window are counted together.
         */
        refusals: z
          .strictObject({
            windowMs: z.number().int().min(1000).max(3_600_000).default(60_000),
            maxSources: z.number().int().min(1).max(1_000_000).default(10_000),
          })
          .prefault({}),
      })
      .prefault({}),
    limits: z
      .strictObject({
        maxHeaderBytes: posInt.default(16384),
        // Bodies are streamed; this caps one request (a large git push fits).
        maxBodyBytes: posInt.default(1024 * 1024 * 1024),
        /**
         * Cap on a compressed upstream response once decoded for masking: a small gzip/br
         * body can inflate a thousandfold or more (a decompression bomb); past the cap the
         * response is cut (502 before the head is sent) and the failure recorded.
         */
        maxDecodedBytes: posInt.default(256 * 1024 * 1024),
        /**
         * Time the client has to send a whole request (headers and body; node's `requestTimeout`).
         * A large git push over a slow link must fit in it.
         */
        requestTimeoutMs: posInt.default(300_000),
        /**
         * Client idle: how long the client may stay silent while the gateway waits for it (request
         * bytes not arriving, or response bytes it does not read), and how long an idle keep-alive
         * connection stays open. It never cuts a request while the gateway itself is working or
         * waiting for the upstream: those waits have their own bounds (upstreamIdleTimeoutMs,
         * a git connection's mirrorTimeoutMs, approvals.timeoutMs).
         */
        idleTimeoutMs: posInt.default(60_000),
        /**
         * Upstream idle: how long the upstream may stay silent, before its response head and
         * between body chunks (a connection's `limits.timeoutMs` overrides it). Past it the
         * request gets 504 ERR_UPSTREAM_TIMEOUT (or the response is cut).
         */
        upstreamIdleTimeoutMs: posInt.default(300_000),
        /** How long a shutdown waits for requests in flight. */
        shutdownTimeoutMs: posInt.default(30_000),
      })
      .prefault({}),
  })
  .prefault({});

export type GatewayConfig = z.output<typeof gatewaySchema>;
