import type { Bus, StreamMsg } from '@agentgate/bus';
import type { Config, DeepReadonly } from '@agentgate/config';
import { type AuditEvent, STREAMS, cleanSubject, encodeEvent, eventMsgId } from '@agentgate/events';
import { type Logger, childFor } from '@agentgate/log';
import { type Masker, type MaskerOptions, createMasker } from '@agentgate/masking';
import { createLeaseClient } from '@agentgate/secret-broker';
import { MaskingServiceError } from './errors.js';
import { deadLetter } from './lib/dead-letter.js';
import { decodeRaw, maskEvent } from './lib/mask-event.js';
import { inOrderWindow } from './lib/publish-window.js';
import { type ActiveSecrets, type MasklistSource, SecretSet } from './lib/secret-set.js';
import { ensureAuditStreams } from './lib/streams.js';

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

/** Counters since start. */
export interface MaskingServiceStats {
  /** Raw events published to the clean stream and acked. */
  clean: number;
  /** Exposure events published. */
  exposures: number;
  /** Raw messages dead-lettered and acked. */
  deadLettered: number;
  /** Raw messages handed back for redelivery (no masklist yet, publish failed). */
  retried: number;
  batches: number;
}

export interface MaskingService {
  /** Stops fetching; the batch in flight is finished (published and acked) first. */
  stop(): Promise<void>;
  stats(): MaskingServiceStats;
  /** True once the brokered values are known (before that, events wait). */
  ready(): boolean;
}

interface Publish {
  subject: string;
  data: Uint8Array;
  msgId: string;
}

interface Item {
  msg: StreamMsg;
  kind: 'clean' | 'dlq';
  publishes: Publish[];
  exposures: number;
}

const SERVICE_DEFAULTS = { batch: 100, maxInFlight: 32, ackWaitMs: 30_000, masklistRefreshMs: 60_000, retryDelayMs: 2_000, missRefreshMs: 5_000 };

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
export async function startMaskingService(
  bus: Bus,
  config: MaskingServiceConfig,
  logger: Logger,
  opts: MaskingServiceOptions = {},
): Promise<MaskingService> {
  const svc = { ...SERVICE_DEFAULTS, ...config.masking.service };
  let base: Masker;
  try {
    base = (opts.createMasker ?? createMasker)(maskerOptions(config));
  } catch (cause) {
    throw new MaskingServiceError('ERR_MASKSVC_CONFIG', `masking: ${(cause as Error).message}`, { cause });
  }
  const streams = await ensureAuditStreams(bus, config.bus.streams);
  if (streams.rawRetention !== STREAMS.AUDIT_RAW.retention) {
    logger.warn(
      { stream: STREAMS.AUDIT_RAW.name, retention: streams.rawRetention, wanted: STREAMS.AUDIT_RAW.retention },
      'AUDIT_RAW still has its old retention: draining it; the proxy migrates it once drained (README: upgrading the audit streams)',
    );
  }

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
  const stats: MaskingServiceStats = { clean: 0, exposures: 0, deadLettered: 0, retried: 0, batches: 0 };
  let stopping = false;
  let wake: (() => void) | undefined;
  let loggedWaiting = false;

  const retry = (msg: StreamMsg): void => {
    msg.nak(svc.retryDelayMs);
    stats.retried++;
  };

  const plan = (msg: StreamMsg, event: AuditEvent | MaskingServiceError, active: ActiveSecrets): Item => {
    let error = event instanceof MaskingServiceError ? event : undefined;
    if (!error) {
      try {
        const m = maskEvent(event as AuditEvent, active);
        const publishes = [m.clean, ...m.exposures].map((e) => ({ subject: cleanSubject(e), data: encodeEvent(e), msgId: eventMsgId(e) }));
        return { msg, kind: 'clean', publishes, exposures: m.exposures.length };
      } catch (err) {
        if (!(err instanceof MaskingServiceError)) throw err;
        error = err;
      }
    }
    const ev = event instanceof MaskingServiceError ? undefined : event;
    // Ids only: the event failed before masking, so none of its content may reach the log.
    childFor(logger, { msgId: ev?.event.id, sessionId: ev?.agentgate.session.id, actionId: ev?.agentgate.action.id }).warn(
      { code: error.code, seq: msg.seq, deliveryCount: msg.deliveryCount },
      'raw event dead-lettered',
    );
    const dl = deadLetter(msg, { code: error.code, message: error.message }, active.masker);
    return { msg, kind: 'dlq', publishes: [dl], exposures: 0 };
  };

  const handle = async (msgs: StreamMsg[]): Promise<void> => {
    stats.batches++;
    let active = secrets.active();
    if (!active) {
      // Fail closed: without the brokered values an exposed secret would pass in clear.
      if (!loggedWaiting) logger.warn({ code: 'ERR_MASKSVC_MASKLIST_UNAVAILABLE' }, 'waiting for the masklist from the secret broker; events held back');
      loggedWaiting = true;
      void secrets.refresh();
      for (const m of msgs) retry(m);
      return;
    }
    const decoded = msgs.map((m): AuditEvent | MaskingServiceError => {
      try {
        return decodeRaw(m.data);
      } catch (err) {
        if (err instanceof MaskingServiceError) return err;
        throw err;
      }
    });
    const wanted = new Set<string>();
    for (const e of decoded) {
      const conn = e instanceof MaskingServiceError ? undefined : e.agentgate.action.connection;
      const ref = conn === undefined ? undefined : refOfConnection.get(conn);
      if (ref !== undefined) wanted.add(ref);
    }
    await secrets.refreshForMiss(wanted);
    active = secrets.active() ?? active;
    const indices = msgs.map((_, i) => i);
    await inOrderWindow(
      indices,
      svc.maxInFlight,
      async (i) => {
        const msg = msgs[i]!;
        let item: Item;
        try {
          // Masked inside the window, so this event's CPU work overlaps the previous events' publishes.
          item = plan(msg, decoded[i]!, active);
        } catch (err) {
          retry(msg);
          throw err;
        }
        try {
          for (const p of item.publishes) await bus.streams.publish(p.subject, p.data, { msgId: p.msgId });
        } catch (err) {
          logger.warn({ code: (err as { code?: unknown }).code, seq: msg.seq }, 'publish failed; the raw event will be redelivered');
          retry(msg);
          throw err;
        }
        if (item.kind === 'clean') {
          stats.clean++;
          stats.exposures += item.exposures;
        } else {
          stats.deadLettered++;
        }
        try {
          await msg.ack();
        } catch (err) {
          // Already stored under its id: a redelivery republishes a duplicate that the stream drops.
          logger.warn({ code: (err as { code?: unknown }).code, seq: msg.seq }, 'ack failed after publish');
        }
      },
      (i) => retry(msgs[i]!),
    );
  };

  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!stopping) {
      let msgs: StreamMsg[];
      try {
        msgs = await consumer.fetch({ batch: svc.batch, expiresMs: 1000 });
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 10 === 0) logger.warn({ code: (err as { code?: unknown }).code, failures }, 'fetch from AUDIT_RAW failed; retrying');
        await pause(Math.min(svc.retryDelayMs, 250 * failures));
        continue;
      }
      if (msgs.length === 0) continue;
      // On the in-process bus fetch, publish and ack all settle as microtasks: yield to the event loop between
      // batches so a backlog never starves the other services sharing the process (and stop() can be seen).
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (secrets.active()) loggedWaiting = false;
      try {
        await handle(msgs);
      } catch (err) {
        // A bug, not a poison message: hand the batch back rather than lose or pass it.
        logger.error({ code: (err as { code?: unknown }).code, name: (err as Error).name }, 'masking batch failed; redelivering');
        for (const m of msgs) retry(m);
        await pause(svc.retryDelayMs);
      }
    }
  };

  // One attempt before taking events, so a service started beside a running broker is ready at once.
  await secrets.refresh();
  secrets.start();
  logger.info({ durable: MASKING_DURABLE, batch: svc.batch, maxInFlight: svc.maxInFlight, secrets: config.secrets.length }, 'masking service started');
  const running = loop();

  return {
    async stop() {
      stopping = true;
      wake?.();
      await running;
      secrets.stop();
      logger.info({ ...stats }, 'masking service stopped');
    },
    stats: () => ({ ...stats }),
    ready: () => secrets.active() !== undefined,
  };
}
