import type { Principal } from '@agentgate/events';
import type { Classification } from '../adapters/types.js';
import type { ProxyError } from '../errors.js';
import type { PolicyPort } from '../lib/ports.js';
import { type Decided, decide } from './decide.js';

/** The decision of a classified request, with the adapter's own refusal when it decided per part. */
export interface PartsDecided {
  readonly decision: Decided;
  /** The classification with the per-part audit fields filled in. */
  readonly classification: Classification;
  /** The refusal to send instead of `refusalOf(decision)`. */
  readonly refusal?: ProxyError;
}

/**
 * Decides a classified request. With `parts` (a push's ref updates), each
 * part is decided on its own and the request goes on only when every part
 * is allowed (all-or-nothing: a push is one upstream transaction, and
 * letting half of it through would need rewriting the client's pack). The
 * first part that is not allowed stands for the whole request; a deny
 * outranks a review so the client is not sent to ask for an approval that
 * could not make the push pass.
 */
export function decideClassification(policy: PolicyPort, principal: Principal, connection: string, c: Classification): PartsDecided {
  if (!c.parts) return { decision: decide(policy, principal, { kind: c.kind, connection, attributes: c.attributes }), classification: c };
  const decisions = c.parts.actions.map((a) => decide(policy, principal, { kind: a.kind, connection, attributes: a.attributes }));
  const blocking = decisions.find((d) => d.effect === 'deny') ?? decisions.find((d) => d.effect !== 'allow');
  // No part at all is nothing to allow: fail closed.
  const decision: Decided = blocking ?? decisions[0] ?? { effect: 'deny', rule: null, reason: 'no action to decide' };
  const settled = c.parts.settle(decisions);
  const classification: Classification = settled.audit ? { ...c, audit: { ...c.audit, ...settled.audit } } : c;
  return { decision, classification, ...(decision.effect !== 'allow' && settled.refusal && { refusal: settled.refusal }) };
}
