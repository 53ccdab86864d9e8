import type { Bus } from '@agentgate/bus';
import { type Config, type DeepReadonly, type MaskingConfig, maskingServiceSchema } from '@agentgate/config';
import { STREAMS, flattenIssues } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import { type Masker, type MaskerOptions, createMasker } from '@agentgate/masking';
import { createLeaseClient } from '@agentgate/secret-broker';
import { MaskingServiceError } from './errors.js';
import { MaskingLoop, type MaskingServiceStats } from './lib/masking-loop.js';
import { type MasklistSource, SecretSet } from './lib/secret-set.js';
import { ensureAuditStreams } from './lib/streams.js';
import { processMetrics } from '@agentgate/telemetry';

/** The configuration sections the service reads. */
export type MaskingServiceConfig = DeepReadonly<Pick<Config, 'bus' | 'masking' | 'secrets' | 'connections'>>;

/** Durable consumer name on AUDIT_RAW; replicas of the service share it (each event goes to one of them). */
export const MASKING_DURABLE = 'masking';

export interface MaskingServiceOptions {
  /** Where brokered values come from (default: the secret broker over this bus, `createLeaseClient(bus)`). */
  masklistSource?: MasklistSource;
  /** Builds the base masker (tests inject a failing one). */
  createMasker?: (options: MaskerOptions) => Masker;
  /** Clock, for tests. */
  now?: () => number;
}

export interface MaskingService {
  /** Stops fetching; the batch in flight is finished (published and acked) first. */
  stop(): Promise<void>;
  stats(): MaskingServiceStats;
  /** True once the brokered values are known (before that, events wait). */
  ready(): boolean;
}

function maskerOptions(config: MaskingServiceConfig): MaskerOptions {
  const m = config.masking;
  return {
    detectors: m.detectors === 'all' ? 'all' : [...m.detectors],
    entropy: m.entropy.enabled ? { minEntropy: m.entropy.threshold, minLength: m.entropy.minLength } : false,
  };
}

/**
 * Starts the masking service: a durable pull consumer on AUDIT_RAW (explicit
 * ack) that masks each event and publishes it to AUDIT_CLEAN under its own
 * event id (`Nats-Msg-Id`, so a crash between publish and ack republishes a
 * duplicate the stream drops), plus one exposure event per brokered secret
 * found in it; only then acks. Poison messages (not JSON, not an event,
 * masker failure) go to `audit.dlq.masking` with a reason, then are acked.
 * Until the secret broker has answered with the brokered values, fetched
 * events are nak'd with a delay: nothing passes without exact-value masking.
 *
 * Throws MaskingServiceError `ERR_MASKSVC_CONFIG` for a bad masking section
 * (compiled once, here), and bus errors when the streams cannot be declared.
 */
export async function startMaskingService(bus: Bus, config: MaskingServiceConfig, logger: Logger, opts: MaskingServiceOptions = {}): Promise<MaskingService> {
  const { svc, base } = compile(config, opts);
  await declareStreams(bus, config, logger);
  // With no secret configured the broker has nothing to give: do not wait for it.
  const source = config.secrets.length === 0 ? undefined : (opts.masklistSource ?? createLeaseClient(bus));
  const secrets = new SecretSet(base, source, logger, {
    refreshMs: svc.masklistRefreshMs,
    missRefreshMs: svc.missRefreshMs,
    ...(opts.now !== undefined && { now: opts.now }),
  });
  const refOfConnection = new Map<string, string>();
  for (const c of config.connections) if (c.credential) refOfConnection.set(c.name, c.credential.ref);
  const consumer = await bus.streams.consumer(STREAMS.AUDIT_RAW.name, {
    durable: MASKING_DURABLE,
    ackWaitMs: svc.ackWaitMs,
    maxAckPending: Math.max(1000, svc.batch * 4),
  });
  // Its backlog is reported at every scrape (agentgate_stream_consumer_pending_messages): the service's lag.
  processMetrics().watchConsumer(consumer);
  const loop = new MaskingLoop({ bus, consumer, secrets, svc, refOfConnection, logger });

  // One attempt before taking events, so a service started beside a running broker is ready at once.
  await secrets.refresh();
  secrets.start();
  logger.info({ durable: MASKING_DURABLE, batch: svc.batch, maxInFlight: svc.maxInFlight, secrets: config.secrets.length }, 'masking service started');
  const running = loop.run();
  return {
    async stop() {
      loop.stop();
      await running;
      secrets.stop();
      logger.info({ ...loop.stats }, 'masking service stopped');
    },
    stats: () => ({ ...loop.stats }),
    ready: () => secrets.active() !== undefined,
  };
}

/** The service section with its defaults (from @agentgate/config, the one place they are written) and the base masker, compiled once. */
function compile(config: MaskingServiceConfig, opts: MaskingServiceOptions): { svc: DeepReadonly<MaskingConfig['service']>; base: Masker } {
  const parsed = maskingServiceSchema.safeParse(config.masking.service ?? {});
  if (!parsed.success) {
    const issues = flattenIssues(parsed.error.issues, ['masking', 'service']).map((i) => `${i.path}: ${i.message}`);
    throw new MaskingServiceError('ERR_MASKSVC_CONFIG', issues.join('; '), { cause: parsed.error });
  }
  try {
    return { svc: parsed.data, base: (opts.createMasker ?? createMasker)(maskerOptions(config)) };
  } catch (cause) {
    throw new MaskingServiceError('ERR_MASKSVC_CONFIG', `masking: ${(cause as Error).message}`, { cause });
  }
}

/** Declares the audit streams; an AUDIT_RAW of the old retention is drained as it is (its publisher migrates it). */
async function declareStreams(bus: Bus, config: MaskingServiceConfig, logger: Logger): Promise<void> {
  const streams = await ensureAuditStreams(bus, config.bus.streams);
  if (streams.rawRetention !== STREAMS.AUDIT_RAW.retention) {
    logger.warn(
      { stream: STREAMS.AUDIT_RAW.name, retention: streams.rawRetention, wanted: STREAMS.AUDIT_RAW.retention },
      'AUDIT_RAW still has its old retention: draining it; the proxy migrates it once drained (README: upgrading the audit streams)',
    );
  }
}

export type { MaskingServiceStats };
