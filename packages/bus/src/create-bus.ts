import { InprocBus } from './inproc/bus.js';
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
}

/** Creates the bus: NATS when `natsUrl` is set, else the in-process transport. */
export async function createBus(opts: CreateBusOptions = {}): Promise<Bus> {
  if (opts.natsUrl && (typeof opts.natsUrl === 'string' || opts.natsUrl.length > 0)) {
    return NatsBus.connect({ servers: opts.natsUrl, ...(opts.name ? { name: opts.name } : {}) });
  }
  return new InprocBus({ dataDir: opts.dataDir, fsync: opts.fsync ?? false });
}
