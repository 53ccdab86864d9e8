import { type AuditEvent, type MaskingFinding, type Principal, buildExposureEvent, upgradeEvent, validateParsedEvent } from '@agentgate/events';
import type { Finding } from '@agentgate/masking';
import { MaskingServiceError } from '../errors.js';
import { countMembers, isCanonicalJson } from './canonical-json.js';
import { exposureEventId } from './exposure-id.js';
import type { ActiveSecrets } from './secret-set.js';
import { countMasked } from './telemetry.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The JSON text of each event decodeRaw returned as parsed (not upgraded, not copied by zod), for {@link rawIsCanonical}. */
const textOf = new WeakMap<AuditEvent, string>();

/** Parses raw bytes into an audit event; ERR_MASKSVC_BAD_JSON or ERR_MASKSVC_INVALID_EVENT (messages name paths, never values). */
export function decodeRaw(data: Uint8Array): AuditEvent {
  let parsed: unknown;
  let text: string;
  try {
    text = decoder.decode(data);
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new MaskingServiceError('ERR_MASKSVC_BAD_JSON', 'raw message is not UTF-8 JSON', { cause });
  }
  let event: AuditEvent;
  try {
    // An event of the previous schema version still in the raw stream during an upgrade is masked in today's layout.
    // The checker compiled from the zod schema accepts a valid event as it is (zod only for what it does not accept).
    event = validateParsedEvent(upgradeEvent(parsed));
  } catch (cause) {
    throw new MaskingServiceError('ERR_MASKSVC_INVALID_EVENT', (cause as Error).message, { cause });
  }
  // A BOM is dropped by the decoder: such bytes are not the text, never republished as they are.
  if (event === parsed && !(data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf)) textOf.set(event, text);
  return event;
}

/**
 * True when `data`, the bytes `event` was decoded from (decodeRaw), are exactly what encodeEvent(event)
 * writes: the event is the parsed value itself (not upgraded, not rebuilt by zod) and its text is in
 * JSON.stringify's form with no duplicate key (canonical-json.ts). The masking service then republishes
 * an event it left unchanged as the bytes it received instead of serialising it again.
 */
export function rawIsCanonical(event: AuditEvent): boolean {
  const text = textOf.get(event);
  return text !== undefined && isCanonicalJson(text, countMembers(event));
}

/** The masked event and one exposure event per brokered secret found in it. */
export interface MaskedEvent {
  clean: AuditEvent;
  exposures: AuditEvent[];
  /** Masked occurrences added by this service. */
  count: number;
}

/** Sums findings by (type, ref); paths are dropped (the event schema keeps type, ref and count only). */
function mergeFindings(prev: readonly MaskingFinding[], add: readonly Finding[], refOf: (r: string) => string): MaskingFinding[] {
  const byKey = new Map<string, MaskingFinding>();
  const put = (type: string, ref: string | undefined, count: number): void => {
    const key = `${type}\0${ref ?? ''}`;
    const cur = byKey.get(key);
    if (cur) cur.count += count;
    else byKey.set(key, ref === undefined ? { type, count } : { type, ref, count });
  };
  for (const f of prev) put(f.type, f.ref, f.count);
  for (const f of add) put(f.type, f.ref === undefined ? undefined : refOf(f.ref), f.count);
  return [...byKey.values()];
}

/**
 * Masks one event: every string and key through the masker (brokered values
 * in all their encodings, detectors, sensitive keys), findings merged into
 * `agentgate.masking`, and an exposure event per brokered ref that was hit.
 * Throws ERR_MASKSVC_MASK_FAILED when the engine throws, and
 * ERR_MASKSVC_IDENTITY_CHANGED when the masked event lost its id or no longer
 * validates: such an event cannot be recorded faithfully, so it is dead-lettered.
 * `event` must be validated already (decodeRaw): an event the masker left
 * untouched (no finding) is not validated again.
 */
export function maskEvent(event: AuditEvent, secrets: ActiveSecrets): MaskedEvent {
  let value: AuditEvent;
  let findings: Finding[];
  try {
    // Shared: an event with nothing to mask comes back as itself (no copy of every object of it); the
    // input is never changed, and below only copies are.
    const r = secrets.masker.maskJson(event, { share: true });
    value = r.value;
    findings = r.findings;
  } catch (cause) {
    throw new MaskingServiceError('ERR_MASKSVC_MASK_FAILED', 'the masking engine failed on this event', { cause });
  }
  // The id is the de-duplication key downstream: if masking touched it, the event cannot be stored safely.
  if (value?.event?.id !== event.event.id) {
    throw new MaskingServiceError('ERR_MASKSVC_IDENTITY_CHANGED', 'masking changed event.id (it contains something secret-looking)');
  }
  const count = findings.reduce((n, f) => n + f.count, 0);
  countMasked(findings);
  if (count > 0) {
    const prev = value.agentgate.masking;
    // `value.agentgate` may be the input's own (share): set the totals on copies.
    value = {
      ...value,
      agentgate: {
        ...value.agentgate,
        masking: { count: (prev?.count ?? 0) + count, findings: mergeFindings(prev?.findings ?? [], findings, secrets.refOf) },
      },
    };
  }
  // Validated once on the way in (decodeRaw). The masker changes nothing without a finding (every
  // replaced string, key or sensitive value is one), so only an event it changed is validated again.
  let clean = value;
  if (findings.length > 0) {
    try {
      // The masker's output is plain JSON data (objects, arrays, strings, ...), as validateParsedEvent wants.
      clean = validateParsedEvent(value);
    } catch (cause) {
      throw new MaskingServiceError('ERR_MASKSVC_IDENTITY_CHANGED', `masked event is no longer valid: ${(cause as Error).message}`, { cause });
    }
  }
  try {
    return { clean, exposures: exposuresOf(clean, findings, secrets), count };
  } catch (cause) {
    throw new MaskingServiceError('ERR_MASKSVC_MASK_FAILED', 'could not build the exposure event', { cause });
  }
}

function exposuresOf(clean: AuditEvent, findings: readonly Finding[], secrets: ActiveSecrets): AuditEvent[] {
  const hits = new Map<string, number>();
  for (const f of findings) {
    if (f.type !== 'secret' || f.ref === undefined) continue;
    const ref = secrets.refOf(f.ref);
    hits.set(ref, (hits.get(ref) ?? 0) + f.count);
  }
  const out: AuditEvent[] = [];
  for (const [ref, count] of hits) out.push(exposureEvent(clean, ref, count));
  return out;
}

/** Built from the clean copy only, so nothing unmasked can reach it. */
function exposureEvent(clean: AuditEvent, ref: string, count: number): AuditEvent {
  const ag = clean.agentgate;
  const p = ag.principal;
  const principal: Principal = {
    issuer: p?.issuer ?? 'unknown',
    subject: clean.user?.id ?? 'unknown',
    groups: [...(clean.user?.group?.name ?? [])],
    claims: {},
    ci: p?.ci ?? { provider: 'generic' },
    sessionId: ag.session.id,
    expiresAt: 0,
  };
  const at = Date.parse(clean['@timestamp']);
  const ev = buildExposureEvent({
    principal,
    action: { id: ag.action.id, kind: clean.event.action, ...(ag.action.connection !== undefined && { connection: ag.action.connection }) },
    secretRef: ref,
    findings: [{ type: 'secret', ref, count }],
    reason: `brokered secret "${ref}" appeared in traffic of this action (${ag.action.phase}) and was masked`,
    ...(clean.url !== undefined && { url: clean.url }),
    ...(clean.source !== undefined && { source: clean.source }),
    ...(clean.destination !== undefined && { destination: clean.destination }),
    ...(clean.trace !== undefined && { traceId: clean.trace.id }),
    ...(clean.labels !== undefined && { labels: clean.labels }),
    ...(clean.observer.name !== undefined && { observerName: clean.observer.name }),
    // The source's time: a redelivery rebuilds the same event, not just the same id.
    now: new Date(Number.isFinite(at) ? at : 0),
    id: exposureEventId(clean.event.id, ref, at),
  });
  // Keep who-did-it exactly as the source recorded it; never invent a principal the source did not have.
  if (p === undefined) delete ev.agentgate.principal;
  if (clean.user !== undefined) ev.user = clean.user;
  else delete ev.user;
  if (clean.related !== undefined) ev.related = clean.related;
  else delete ev.related;
  return validateParsedEvent(ev);
}
