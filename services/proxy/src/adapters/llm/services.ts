import type { Bus } from '@agentgate/bus';
import type { Config } from '@agentgate/config';
import { createMasker, type Masker, type SecretInput } from '@agentgate/masking';
import { createLeaseClient } from '@agentgate/secret-broker';
import type { AdapterServices } from '../types.js';
import { cachedExchangeStore } from './exchange-cache.js';

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

/**
 * The masker for what goes to a model: the configured detectors plus the
 * exact values of every brokered secret (the secret broker's masklist),
 * compiled once per masklist fetch. When the masklist cannot be had, the
 * call throws and the exchange is refused: a prompt is never sent upstream
 * unchecked.
 */
export function promptMaskerSource(config: Config, brokered: BrokeredSource): () => Promise<Masker> {
  const base = detectorMasker(config);
  let compiled: { version: number; masker: Masker } | undefined;
  return async () => {
    const list = await brokered();
    if (compiled?.version !== list.version) compiled = { version: list.version, masker: base.withSecrets(list.secrets) };
    return compiled.masker;
  };
}

/** The broker's masklist on the bus, refreshed every `masking.service.masklistRefreshMs`. */
export function busBrokeredSource(bus: Bus, config: Config): BrokeredSource {
  const broker = createLeaseClient(bus, { timeoutMs: config.gateway.auth.verifyTimeoutMs });
  return brokeredSource(() => broker.masklist(), config.masking.service.masklistRefreshMs);
}

/** The services the llm adapter and the correlate step use, on the proxy's bus. */
export function createAdapterServices(bus: Bus, config: Config, brokered: BrokeredSource = busBrokeredSource(bus, config)): AdapterServices {
  return {
    promptMasker: promptMaskerSource(config, brokered),
    promptSecrets: config.masking.promptSecrets,
    exchanges: cachedExchangeStore(bus),
  };
}
