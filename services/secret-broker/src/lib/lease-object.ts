import { inspect } from 'node:util';
import type { InjectSpec, Lease } from '../types.js';

const REDACTED = '[REDACTED]';

/**
 * Builds a Lease whose value stays usable but never shows up when the object
 * is serialized: JSON.stringify (hence pino) and util.inspect print
 * `[REDACTED]`. A lease logged by mistake must not leak the credential.
 */
export function makeLease(ref: string, value: string, inject: InjectSpec, expiresAt: number): Lease {
  const lease: Lease = { ref, value, inject: { ...inject }, expiresAt };
  Object.defineProperty(lease, 'toJSON', {
    enumerable: false,
    value: () => ({ ref, value: REDACTED, inject, expiresAt }),
  });
  Object.defineProperty(lease, inspect.custom, {
    enumerable: false,
    value: () => `Lease { ref: ${JSON.stringify(ref)}, value: ${REDACTED}, inject: ${inject.type}, expiresAt: ${expiresAt} }`,
  });
  return Object.freeze(lease);
}
