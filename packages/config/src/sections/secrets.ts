import { z } from 'zod';
import { checkUnique, nonEmpty } from '../lib/common.js';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

/** `secrets`: where the secret broker finds each credential. Only references live here, never values. */
export const secretSchema = z.discriminatedUnion('source', [
  z.strictObject({ ref: nonEmpty, source: z.literal('env'), env: envName }),
  z.strictObject({ ref: nonEmpty, source: z.literal('file'), path: nonEmpty }),
  z.strictObject({
    ref: nonEmpty,
    source: z.literal('jwe-file'),
    path: nonEmpty,
    key: z
      .strictObject({ env: envName.optional(), path: nonEmpty.optional() })
      .refine((k) => (k.env === undefined) !== (k.path === undefined), 'expected exactly one of env or path'),
  }),
]);

export const secretsSchema = z
  .array(secretSchema)
  .default([])
  .superRefine((list, ctx) => {
    checkUnique(
      ctx,
      list.map((s) => s.ref),
      (i) => [i, 'ref'],
      'secret ref',
    );
  });

export type SecretConfig = z.output<typeof secretSchema>;
export type SecretsConfig = z.output<typeof secretsSchema>;
