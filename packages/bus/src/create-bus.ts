import { InprocBus } from './inproc/bus.js';
import { BusError } from './errors.js';
import { NatsBus } from './nats/bus.js';
import type { Bus } from './types.js';

export interface CreateBusOptions {
  /** NATS server URL(s); when absent the in-process transport is used. */
  natsUrl?: string | string[] | undefined;
  /** Directory for the in-process transport's durable streams and KV. */
  dataDir?: string | undefined;
  /** Connection name shown by the NATS server. */
  name?: string;
  /** In-process only: fsync each stored message. */
  fsync?: boolean;
  /** NATS only: the `bus.nats` section of the configuration (user, password by env var, creds, inbox prefix, TLS). */
  nats?: NatsConnectConfig | undefined;
  /** NATS only: replicas of the KV buckets created through this bus (`bus.streams.replicas`; default 1). */
  replicas?: number | undefined;
}

/** The `bus.nats` configuration section, as @agentgate/config validates it. */
export interface NatsConnectConfig {
  user?: string | undefined;
  /** Environment variable holding the password (never the password itself in a file). */
  passwordEnv?: string | undefined;
  credsFile?: string | undefined;
  inboxPrefix?: string | undefined;
  tls?: { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined } | undefined;
}

/** Creates the bus: NATS when `natsUrl` is set, else the in-process transport. */
export async function createBus(opts: CreateBusOptions = {}): Promise<Bus> {
  if (opts.natsUrl && (typeof opts.natsUrl === 'string' || opts.natsUrl.length > 0)) {
    const n = opts.nats ?? {};
    const password = n.passwordEnv ? process.env[n.passwordEnv] : undefined;
    // Fail closed and say which variable: connecting without the password would only be refused by the server, less clearly.
    if (n.passwordEnv && !password) throw new BusError('ERR_BUS_UNAVAILABLE', `bus.nats.passwordEnv: environment variable ${n.passwordEnv} is not set`);
    return NatsBus.connect({
      servers: opts.natsUrl,
      ...(opts.name ? { name: opts.name } : {}),
      user: n.user,
      password,
      credsFile: n.credsFile,
      inboxPrefix: n.inboxPrefix,
      tls: n.tls,
      ...(opts.replicas ? { replicas: opts.replicas } : {}),
    });
  }
  return new InprocBus({ dataDir: opts.dataDir, fsync: opts.fsync ?? false });
}
