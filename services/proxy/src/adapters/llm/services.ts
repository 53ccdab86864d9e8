import type { Bus } from '@agentgate/bus';
import type { Config } from '@agentgate/config';
import type { Masker } from '@agentgate/masking';
import { type BrokeredSource, busBrokeredSource, detectorMasker } from '../../lib/brokered-secrets.js';
import type { AdapterServices } from '../types.js';
import { cachedExchangeStore } from './exchange-cache.js';

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

/** The services the llm adapter and the correlate step use, on the proxy's bus. */
export function createAdapterServices(bus: Bus, config: Config, brokered: BrokeredSource = busBrokeredSource(bus, config)): AdapterServices {
  return {
    promptMasker: promptMaskerSource(config, brokered),
    promptSecrets: config.masking.promptSecrets,
    exchanges: cachedExchangeStore(bus),
  };
}
