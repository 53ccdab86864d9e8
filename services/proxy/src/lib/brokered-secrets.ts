import type { Bus } from '@agentgate/bus';
import type { Config } from '@agentgate/config';
import { createMasker, type Masker, type SecretInput } from '@agentgate/masking';
import { createLeaseClient } from '@agentgate/secret-broker';

/**
 * The brokered secret values the gateway masks beyond a connection's own
 * credential: the secret broker's masklist, shared by prompt masking (llm
 * adapter) and response masking (pipeline/response-masker.ts).
 */

// The masking library refuses shorter values (they would mask noise); the broker's list may hold some.
const MIN_SECRET = 6;

/** The brokered secret values at one moment; `version` changes whenever the list was fetched anew. */
export interface BrokeredSecrets {
  readonly secrets: readonly SecretInput[];
  readonly version: number;
}

/** The secret broker's masklist, fetched at most once per `refreshMs` (one fetch in flight); rejects when it cannot be had. */
export type BrokeredSource = () => Promise<BrokeredSecrets>;

/** Caches the masklist for `refreshMs`; a failed refresh rejects (callers fail closed) and is retried on the next call. */
export function brokeredSource(masklist: () => Promise<SecretInput[]>, refreshMs: number, now: () => number = Date.now): BrokeredSource {
  let cached: { list: BrokeredSecrets; until: number } | undefined;
  let inflight: Promise<BrokeredSecrets> | undefined;
  let version = 0;
  return () => {
    if (cached && cached.until > now()) return Promise.resolve(cached.list);
    inflight ??= masklist()
      .then((secrets) => {
        const list = { secrets: secrets.filter((s) => s.value.length >= MIN_SECRET), version: ++version };
        cached = { list, until: now() + refreshMs };
        return list;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
}

/** The configured detectors (`masking.detectors`, `masking.entropy`), compiled once, without secrets. */
export function detectorMasker(config: Config): Masker {
  const m = config.masking;
  return createMasker({
    detectors: m.detectors === 'all' ? 'all' : [...m.detectors],
    entropy: m.entropy.enabled ? { minEntropy: m.entropy.threshold, minLength: m.entropy.minLength } : false,
  });
}

/** The broker's masklist on the bus, refreshed every `masking.service.masklistRefreshMs`. */
export function busBrokeredSource(bus: Bus, config: Config): BrokeredSource {
  const broker = createLeaseClient(bus, { timeoutMs: config.gateway.auth.verifyTimeoutMs });
  return brokeredSource(() => broker.masklist(), config.masking.service.masklistRefreshMs);
}
