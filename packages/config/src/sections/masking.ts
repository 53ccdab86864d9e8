import { z } from 'zod';
import { nonEmpty, posInt } from '../lib/common.js';

/** `masking.service`: how the masking service moves events from the raw to the clean stream. */
export const maskingServiceSchema = z
  .strictObject({
    /** Messages fetched from the raw stream at once. */
    batch: posInt.max(10_000).default(200),
    /** Publishes to the clean stream awaiting their acknowledgement at once (publishes are issued in order). */
    maxInFlight: posInt.max(1_000).default(64),
    /**
     * Once a raw event is there and the batch is not full, wait up to this long for more: at a moderate rate
     * events arrive one by one, and masking them together shares the socket writes of their publishes and
     * acks. Adds at most this much latency; 0 takes each event as it comes.
     */
    lingerMs: z.number().int().min(0).max(1_000).default(20),
    /** Redelivery of a raw event when the service neither acked nor nak'd it in time. */
    ackWaitMs: posInt.default(30_000),
    /** Refresh period of the brokered secret values (rotation is picked up within this time). */
    masklistRefreshMs: posInt.default(60_000),
    /** Delay before a raw event is offered again after a transient failure (no masklist yet, clean stream unavailable). */
    retryDelayMs: posInt.default(2_000),
    /** Minimum time between two refreshes caused by an event naming a secret the service does not know yet. */
    missRefreshMs: posInt.default(5_000),
  })
  .prefault({});

/** `masking`: which detectors run and what to do with secrets found in prompts. */
export const maskingSchema = z
  .strictObject({
    detectors: z.union([z.literal('all'), z.array(nonEmpty).min(1)]).default('all'),
    entropy: z
      .strictObject({
        enabled: z.boolean().default(true),
        minLength: z.number().int().min(8).default(20),
        threshold: z.number().positive().max(8).default(4.0),
      })
      .prefault({}),
    promptSecrets: z.enum(['mask', 'refuse']).default('mask'),
    service: maskingServiceSchema,
  })
  .prefault({});

export type MaskingConfig = z.output<typeof maskingSchema>;
export type MaskingServiceConfig = z.output<typeof maskingServiceSchema>;
