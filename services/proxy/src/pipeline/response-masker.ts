import type { Config } from '@agentgate/config';
import { createMasker, type Masker, type SecretInput } from '@agentgate/masking';
import type { Connection } from '../adapters/types.js';
import { type BrokeredSource, detectorMasker } from '../lib/brokered-secrets.js';
import { ProxyError } from '../errors.js';
import type { Lease } from '../lib/ports.js';
import { leaseMaskers } from './runtime.js';

/** The masker for one connection's responses (undefined: nothing to mask); throws ERR_MASKLIST_UNAVAILABLE. */
export type ResponseMaskerSource = (connection: Connection, lease: Lease | undefined) => Promise<Masker | undefined>;

/**
 * Response maskers by the connection's `maskResponses`:
 * - `all` (default for http, llm and mcp): the configured detectors, every
 *   brokered secret (the broker's masklist, as prompts are masked) and the
 *   leased credential;
 * - `brokered`: every brokered secret and the credential, no detectors;
 * - `credential` (git, registry, kubernetes): the leased credential only.
 * Each is compiled once per masklist fetch and credential value. When the
 * masklist is needed and cannot be had, the request is refused before
 * anything goes upstream (fail closed): a response is never passed on with
 * less masking than the connection asks for.
 */
export function responseMaskers(config: Config, brokered: BrokeredSource): ResponseMaskerSource {
  const exactOnly = createMasker({ detectors: [], entropy: false });
  const bases = { all: detectorMasker(config), brokered: exactOnly };
  const credentialOnly = leaseMaskers(exactOnly);
  const cache = new Map<string, { version: number; lease: string | undefined; masker: Masker }>();
  return async (connection, lease) => {
    const mode = connection.maskResponses;
    if (mode === 'credential') return lease ? credentialOnly(lease) : undefined;
    let list: Awaited<ReturnType<BrokeredSource>>;
    try {
      list = await brokered();
    } catch (err) {
      throw new ProxyError(
        'ERR_MASKLIST_UNAVAILABLE',
        `connection "${connection.name}": the list of brokered secrets is unavailable, so the response could not be masked (maskResponses: ${mode}); request refused`,
        { cause: err },
      );
    }
    const key = `${mode}\u0000${lease?.ref ?? ''}`;
    const hit = cache.get(key);
    if (hit && hit.version === list.version && hit.lease === lease?.value) return hit.masker;
    // The lease may be newer than the masklist (rotation): its value is masked whatever the list says.
    const secrets: SecretInput[] = [...list.secrets];
    if (lease && !secrets.some((s) => s.ref === lease.ref && s.value === lease.value)) secrets.push({ ref: lease.ref, value: lease.value });
    const masker = bases[mode].withSecrets(secrets);
    cache.set(key, { version: list.version, lease: lease?.value, masker });
    return masker;
  };
}
