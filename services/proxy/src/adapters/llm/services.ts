import type { Bus } from '@agentgate/bus';
import type { Config } from '@agentgate/config';
import { createMasker, type Masker, type SecretInput } from '@agentgate/masking';
import { createLeaseClient } from '@agentgate/secret-broker';
import type { AdapterServices } from '../types.js';
import { cachedExchangeStore } from './exchange-cache.js';

// The masking library refuses shorter values (they would mask noise); the broker's list may hold some.
const MIN_SECRET = 6;

/**
 * The masker for what goes to a model: the configured detectors plus the
 * exact values of every brokered secret (the secret broker's masklist),
 * compiled once and refreshed every `refreshMs`. When the masklist cannot
 * be had, the call throws and the exchange is refused: a prompt is never
 * sent upstream unchecked.
 */
export function promptMaskerSource(config: Config, masklist: () => Promise<SecretInput[]>, refreshMs: number, now: () => number = Date.now): () => Promise<Masker> {
  const m = config.masking;
  const base = createMasker({
    detectors: m.detectors === 'all' ? 'all' : [...m.detectors],
    entropy: m.entropy.enabled ? { minEntropy: m.entropy.threshold, minLength: m.entropy.minLength } : false,
  });
  let cached: { masker: Masker; until: number } | undefined;
  let inflight: Promise<Masker> | undefined;
  return () => {
    if (cached && cached.until > now()) return Promise.resolve(cached.masker);
    inflight ??= masklist()
      .then((secrets) => {
        const masker = base.withSecrets(secrets.filter((s) => s.value.length >= MIN_SECRET));
        cached = { masker, until: now() + refreshMs };
        return masker;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
}

/** The services the llm adapter and the correlate step use, on the proxy's bus. */
export function createAdapterServices(bus: Bus, config: Config): AdapterServices {
  const broker = createLeaseClient(bus, { timeoutMs: config.gateway.auth.verifyTimeoutMs });
  return {
    promptMasker: promptMaskerSource(config, () => broker.masklist(), config.masking.service.masklistRefreshMs),
    promptSecrets: config.masking.promptSecrets,
    exchanges: cachedExchangeStore(bus),
  };
}
