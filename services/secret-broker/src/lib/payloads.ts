import { z } from 'zod';
import { SecretError } from '../errors.js';
import type { LeasePayload, MasklistPayload } from '../types.js';

const injectSchema = z.strictObject({
  type: z.enum(['bearer', 'basic', 'header', 'client-certificate']),
  header: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
});

const leasePayloadSchema = z.strictObject({
  connection: z.string().min(1),
  ref: z.string().min(1),
  value: z.string().min(1),
  inject: injectSchema,
  expiresAt: z.number(),
});

const masklistPayloadSchema = z.strictObject({
  secrets: z.array(z.strictObject({ ref: z.string().min(1), value: z.string().min(1) })),
  unavailable: z.array(z.string()),
  expiresAt: z.number(),
});

// zod issues of a decrypted payload could quote the value; report only that it is malformed.
export function parseLeasePayload(v: unknown): LeasePayload {
  const r = leasePayloadSchema.safeParse(v);
  if (!r.success) throw new SecretError('ERR_SECRET_BAD_REQUEST', 'broker lease payload is malformed');
  const { header, username, type } = r.data.inject;
  return { ...r.data, inject: { type, ...(header !== undefined && { header }), ...(username !== undefined && { username }) } };
}

export function parseMasklistPayload(v: unknown): MasklistPayload {
  const r = masklistPayloadSchema.safeParse(v);
  if (!r.success) throw new SecretError('ERR_SECRET_BAD_REQUEST', 'broker masklist payload is malformed');
  return r.data;
}
