import type { Config } from '@agentgate/config';
import type { AdapterServices, Connection } from '../adapters/types.js';
import type { Logger } from '@agentgate/log';
import type { Masker } from '@agentgate/masking';
import type { Lease, LeasePort, PolicyPort } from '../lib/ports.js';
import type { Authenticator } from './authenticate.js';
import type { Forwarder } from './forward.js';
import type { AuditRecorder } from './record.js';
import type { RefusalLog } from './refusals.js';

/** Everything the pipeline needs, built once at start-up. */
export interface ProxyRuntime {
  readonly config: Config;
  readonly connections: ReadonlyMap<string, Connection>;
  readonly auth: Authenticator;
  readonly policy: PolicyPort;
  readonly leases: LeasePort;
  readonly recorder: AuditRecorder;
  readonly forwarder: Forwarder;
  readonly log: Logger;
  readonly observerName: string;
  /** Services adapters and the correlate step use (prompt masking, llm exchange store). */
  readonly services?: AdapterServices;
  /** Counts refusals before authentication into aggregated `refused` events (absent: not recorded). */
  readonly refusals?: RefusalLog;
  /**
   * The masker for a connection's responses, by its `maskResponses` (see
   * response-masker.ts); undefined when there is nothing to mask. Throws
   * ERR_MASKLIST_UNAVAILABLE when the brokered secrets it needs cannot be had.
   */
  responseMasker(connection: Connection, lease: Lease | undefined): Promise<Masker | undefined>;
}

/** Masker cache: compiling a secret's variants once per credential value, not per request. */
export function leaseMaskers(base: Masker): (lease: Lease) => Masker {
  const cache = new WeakMap<object, Masker>();
  // Lease clients may hand out a fresh object per call: reuse by ref when the value is the same.
  const byRef = new Map<string, { value: string; masker: Masker }>();
  return (lease) => {
    const hit = cache.get(lease);
    if (hit) return hit;
    const known = byRef.get(lease.ref);
    const masker = known && known.value === lease.value ? known.masker : base.withSecrets([{ ref: lease.ref, value: lease.value }]);
    // Bounded: one entry per credential ref (a rotated value replaces the old one).
    if (!known && byRef.size >= 1024) byRef.clear();
    byRef.set(lease.ref, { value: lease.value, masker });
    cache.set(lease, masker);
    return masker;
  };
}
