import { EventError } from './errors.js';
import { flattenIssues } from './lib/format-issues.js';
import { compileJsonCheck } from './lib/json-check.js';
import { auditEventSchema, principalSchema } from './schema.js';
import type { AuditEvent, Principal } from './types.js';

/**
 * Validates an audit event at run time and returns it typed. Throws
 * EventError 'ERR_EVENT_INVALID' whose message and `issues` name each bad
 * path (e.g. `agentgate.action.phase: expected one of …`); values are
 * never echoed, since an event may carry unmasked data.
 */
export function validateEvent(input: unknown): AuditEvent {
  const r = auditEventSchema.safeParse(input);
  if (r.success) return r.data;
  const issues = flattenIssues(r.error.issues);
  throw new EventError('ERR_EVENT_INVALID', `invalid audit event: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
    issues,
  });
}

const parsedEventIsValid = compileJsonCheck(auditEventSchema);

/**
 * {@link validateEvent} for a value fresh from `JSON.parse` (an event off the bus): the same
 * guarantees and the same ERR_EVENT_INVALID issues, but a valid event is checked by a checker
 * compiled from the same zod schema (lib/json-check.ts) and returned as it is, without zod's
 * per-node work and copy. Anything the checker does not accept goes through zod.
 */
export function validateParsedEvent(input: unknown): AuditEvent {
  return parsedEventIsValid(input) ? (input as AuditEvent) : validateEvent(input);
}

/** True when `input` is a valid audit event. */
export function isAuditEvent(input: unknown): input is AuditEvent {
  return auditEventSchema.safeParse(input).success;
}

/** Validates a principal (e.g. one received over the bus); throws ERR_EVENT_INVALID naming bad paths. */
export function validatePrincipal(input: unknown): Principal {
  const r = principalSchema.safeParse(input);
  if (r.success) return r.data;
  const issues = flattenIssues(r.error.issues);
  throw new EventError('ERR_EVENT_INVALID', `invalid principal: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
    issues,
  });
}
