import type { Bus, Service } from '@agentgate/bus';
import type { Config, DeepReadonly } from '@agentgate/config';
import { SecretError } from './errors.js';
import { type SecretBackend, createBackends } from './lib/backends.js';
import { importRequesterKey, sealReply } from './lib/envelope.js';
import { LEASE_SUBJECT, MASKLIST_SUBJECT, SERVICE_NAME, SERVICE_VERSION } from './subjects.js';
import type { EncryptedReply, InjectSpec, LeasePayload, MasklistPayload } from './types.js';

/** The part of a pino-like logger the broker uses. */
export interface BrokerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface SecretBrokerOptions {
  /** Lifetime of a lease (default 300000 ms = 5 min): bounds how long a rotated-out credential stays in proxies. */
  leaseTtlMs?: number;
  /** Environment the env backends read (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  now?: () => number;
}

export interface SecretBroker {
  readonly service: Service;
  /** Stops answering, then closes file watches. */
  stop(): Promise<void>;
}

type BrokerConfig = DeepReadonly<Pick<Config, 'connections' | 'secrets'>>;

/**
 * Registers the `secret-broker` service: `secrets.lease` (`{connection,
 * publicKey}` → `{jwe, ttlMs}`, the JWE holding `{connection, ref, value,
 * inject, expiresAt}`) and `secrets.masklist` (`{publicKey}` → `{jwe, ttlMs}`,
 * holding every configured secret for exposure detection). Replies are
 * encrypted to the caller's key (ECDH-ES/A256GCM); refusals cross the bus as
 * `{code, message}`.
 *
 * In production, NATS subject permissions must restrict who may publish to
 * `secrets.lease` and `secrets.masklist` (see deploy/nats/permissions.md):
 * encryption protects the reply from eavesdroppers, not from a caller that
 * is allowed to ask.
 */
export async function startSecretBroker(bus: Bus, config: BrokerConfig, logger?: BrokerLogger, opts: SecretBrokerOptions = {}): Promise<SecretBroker> {
  const now = opts.now ?? Date.now;
  const ttlMs = opts.leaseTtlMs ?? 300_000;
  const backends = createBackends(config.secrets, opts.env ?? process.env);
  const connections = new Map(config.connections.map((c) => [c.name, c]));

  const service = await bus.addService({ name: SERVICE_NAME, version: SERVICE_VERSION, description: 'credential leases encrypted to the requester' });

  service.addEndpoint<unknown, EncryptedReply>(
    'lease',
    async (req) => {
      const body = asObject(req);
      const connection = body['connection'];
      if (typeof connection !== 'string' || connection === '') throw new SecretError('ERR_SECRET_BAD_REQUEST', 'connection: expected a name');
      const key = await importRequesterKey(body['publicKey']);
      const conn = connections.get(connection);
      // Unknown names are refused outright: the broker hands out only what the configuration names.
      if (!conn) throw refuse(logger, new SecretError('ERR_SECRET_UNKNOWN_CONNECTION', `connection "${clip(connection)}" is not configured`));
      const cred = conn.credential;
      if (!cred) throw refuse(logger, new SecretError('ERR_SECRET_NO_CREDENTIAL', `connection "${connection}" has no credential`));
      const backend = backends.get(cred.ref);
      if (!backend) throw refuse(logger, new SecretError('ERR_SECRET_NO_CREDENTIAL', `connection "${connection}" names no configured secret`));
      const value = await readOrRefuse(backend, logger);
      const inject: InjectSpec = {
        type: cred.inject,
        ...(cred.header !== undefined && { header: cred.header }),
        ...(cred.username !== undefined && { username: cred.username }),
      };
      const payload: LeasePayload = { connection, ref: cred.ref, value, inject, expiresAt: now() + ttlMs };
      // Only the ref and connection are logged, never the value.
      logger?.debug({ connection, ref: cred.ref, source: backend.source }, 'lease granted');
      return { jwe: await sealReply(key, payload), ttlMs };
    },
    { subject: LEASE_SUBJECT },
  );

  service.addEndpoint<unknown, EncryptedReply>(
    'masklist',
    async (req) => {
      const key = await importRequesterKey(asObject(req)['publicKey']);
      const secrets: MasklistPayload['secrets'] = [];
      const unavailable: string[] = [];
      for (const backend of backends.values()) {
        try {
          secrets.push({ ref: backend.ref, value: await backend.read() });
        } catch (err) {
          // One unreadable secret must not blind exposure detection for all the others.
          unavailable.push(backend.ref);
          logger?.warn({ ref: backend.ref, code: (err as SecretError).code, reason: (err as Error).message }, 'secret unavailable for the masklist');
        }
      }
      const payload: MasklistPayload = { secrets, unavailable, expiresAt: now() + ttlMs };
      return { jwe: await sealReply(key, payload), ttlMs };
    },
    { subject: MASKLIST_SUBJECT },
  );

  logger?.info({ connections: connections.size, secrets: backends.size, subjects: [LEASE_SUBJECT, MASKLIST_SUBJECT] }, 'secret broker started');
  return {
    service,
    async stop() {
      await service.stop();
      for (const b of backends.values()) b.close();
    },
  };
}

function asObject(req: unknown): Record<string, unknown> {
  if (!req || typeof req !== 'object' || Array.isArray(req)) throw new SecretError('ERR_SECRET_BAD_REQUEST', 'expected a JSON object');
  return req as Record<string, unknown>;
}

async function readOrRefuse(backend: SecretBackend, logger: BrokerLogger | undefined): Promise<string> {
  try {
    return await backend.read();
  } catch (err) {
    const e = err instanceof SecretError ? err : new SecretError('ERR_SECRET_UNAVAILABLE', `secret "${backend.ref}" is unavailable`, { cause: err });
    logger?.warn({ ref: backend.ref, code: e.code, reason: e.message, cause: causeCode(e.cause) }, 'secret unavailable');
    throw e;
  }
}

function refuse(logger: BrokerLogger | undefined, err: SecretError): SecretError {
  logger?.info({ code: err.code, reason: err.message }, 'lease refused');
  return err;
}

function causeCode(cause: unknown): string | undefined {
  const c = (cause as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : cause instanceof Error ? cause.name : undefined;
}

// A requested name is echoed back to the caller; keep it short.
function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
