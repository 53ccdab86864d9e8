import { createHash } from 'node:crypto';
import type { Config } from '@agentgate/config';
import { canonicalize } from '@agentgate/events';

/**
 * The policy version an approval is recorded under: SHA-256 (hex) of the
 * RFC 8785 canonical JSON of the validated `policy` section. Computed once
 * at start-up; two gateways with the same rules report the same version.
 */
export function policyVersion(policy: Config['policy']): string {
  return createHash('sha256').update(canonicalize(policy)).digest('hex');
}
