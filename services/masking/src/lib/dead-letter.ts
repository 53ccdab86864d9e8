import { createHash } from 'node:crypto';
import { dlqSubject } from '@agentgate/events';
import type { Masker } from '@agentgate/masking';
import type { MaskingServiceErrorCode } from '../errors.js';
import { countFailed } from './telemetry.js';

/** Stage name of this service in DLQ subjects (`audit.dlq.masking`). */
export const DLQ_STAGE = 'masking';

/** The body of a dead letter from the masking service. */
export interface DeadLetter {
  stage: typeof DLQ_STAGE;
  reason: { code: MaskingServiceErrorCode; message: string };
  /** Subject of the raw message, masked (its token derives from the session id). */
  original_subject: string;
  /** Sequence of the raw message in AUDIT_RAW (the raw stream denies delete, so an operator with access can still read it there). */
  seq: number;
  delivery_count: number;
  /** Best-effort masked text rendering of the payload; absent when masking itself failed. */
  masked_text?: string;
  masked_text_note?: string;
  /** SHA-256 of the raw bytes, to match the dead letter with the raw message without copying it. */
  raw_sha256: string;
  raw_bytes: number;
}

const lossy = new TextDecoder('utf-8', { fatal: false });

/**
 * Builds the dead letter of a raw message. The raw payload is NOT copied: it
 * failed before masking and may hold secrets, and the DLQ is read by
 * operators. Instead it carries `maskText` of the payload read as UTF-8
 * (invalid bytes become U+FFFD) so an analyst can see what was wrong; if the
 * masker is what failed, the text is withheld (fail closed).
 */
export function deadLetter(
  raw: { subject: string; data: Uint8Array; seq: number; deliveryCount: number },
  reason: { code: MaskingServiceErrorCode; message: string },
  masker: Masker,
): { subject: string; data: Uint8Array; msgId: string } {
  countFailed();
  const sha = createHash('sha256').update(raw.data).digest('hex');
  const body: DeadLetter = {
    stage: DLQ_STAGE,
    reason,
    original_subject: safeText(masker, raw.subject) ?? '[withheld]',
    seq: raw.seq,
    delivery_count: raw.deliveryCount,
    raw_sha256: sha,
    raw_bytes: raw.data.byteLength,
  };
  const text = reason.code === 'ERR_MASKSVC_MASK_FAILED' ? undefined : safeText(masker, lossy.decode(raw.data));
  if (text === undefined) body.masked_text_note = 'withheld: the masker could not process this payload';
  else body.masked_text = text;
  return {
    subject: dlqSubject(DLQ_STAGE),
    data: new TextEncoder().encode(JSON.stringify(body)),
    // A redelivered poison message must not dead-letter twice: same raw message, same id.
    msgId: `masking-dlq-${raw.seq}-${sha.slice(0, 16)}`,
  };
}

function safeText(masker: Masker, s: string): string | undefined {
  try {
    return masker.maskText(s).text;
  } catch {
    return undefined;
  }
}
