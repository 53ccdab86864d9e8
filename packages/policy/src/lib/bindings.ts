import type { CelInput } from '@bufbuild/cel';
import type { Principal } from '@agentgate/events';
import type { PolicyAction } from '../types.js';
import type { ConditionBindings } from './condition.js';

/**
 * Turns arbitrary JSON-like data into CEL input: objects become Maps (cel-es
 * evaluates field access on a Map about 5x faster than on a plain object),
 * undefined and functions are dropped (an absent field then reads as absent,
 * which `has()` can test), dates become ISO strings.
 */
export function toCel(value: unknown, depth = 0): CelInput {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint') return value;
  if (typeof value === 'number') return value;
  if (value instanceof Uint8Array) return value;
  if (value instanceof Date) return value.toISOString();
  // Bound the depth: a cyclic or hostile attribute must not hang the decision.
  if (depth > 32) return null;
  if (Array.isArray(value)) return value.filter((v) => v !== undefined && typeof v !== 'function').map((v) => toCel(v, depth + 1));
  if (typeof value === 'object') {
    const out = new Map<string, CelInput>();
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      out.set(k, toCel(v, depth + 1));
    }
    return out;
  }
  return null;
}

// A principal is decided many times per session; convert it once.
const principalCache = new WeakMap<Principal, CelInput>();

export function principalInput(principal: Principal): CelInput {
  let input = principalCache.get(principal);
  if (input === undefined) {
    input = toCel({
      issuer: principal.issuer,
      subject: principal.subject,
      groups: principal.groups,
      claims: principal.claims,
      ci: principal.ci,
      sessionId: principal.sessionId,
      expiresAt: principal.expiresAt,
    });
    principalCache.set(principal, input);
  }
  return input;
}

/** The CEL variables for one decision. */
export function bindingsFor(principal: Principal, action: PolicyAction): ConditionBindings {
  const attrs = toCel(action.attributes ?? {});
  return {
    principal: principalInput(principal),
    action: new Map<string, CelInput>([
      ['kind', action.kind],
      ['connection', action.connection],
      ['attributes', attrs],
    ]),
    attrs,
  };
}

/** A complete principal and action, used at compile time to catch conditions that can never be a bool. */
export function sampleBindings(): ConditionBindings {
  return bindingsFor(
    {
      issuer: 'https://issuer.example',
      subject: 'sample',
      groups: ['sample'],
      claims: {},
      ci: {
        provider: 'generic',
        repository: 'org/repo',
        ref: 'refs/heads/main',
        workflow: 'ci',
        run: '1',
        attempt: '1',
        actor: 'sample',
        environment: 'sample',
      },
      sessionId: 'sample',
      expiresAt: 0,
    },
    { kind: 'http.get', connection: 'sample', attributes: {} },
  );
}
