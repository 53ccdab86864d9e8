import { z } from 'zod';
import { checkUnique, httpUrl, nonEmpty, posInt, slug } from '../lib/common.js';

export const CONNECTION_TYPES = ['http', 'git', 'registry', 'kubernetes', 'llm'] as const;

const credentialSchema = z
  .strictObject({
    /** Name of a configured secret; the value itself never appears in this file. */
    ref: nonEmpty,
    inject: z.enum(['bearer', 'basic', 'header']),
    header: nonEmpty.optional(),
    username: nonEmpty.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.inject === 'header' && c.header === undefined) {
      ctx.addIssue({ code: 'custom', path: ['header'], message: 'required when inject is header' });
    }
    if (c.inject === 'basic' && c.username === undefined) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'required when inject is basic' });
    }
  });

const limitsSchema = z.strictObject({
  maxBodyBytes: posInt.optional(),
  /** Upstream idle for this connection (default `gateway.limits.upstreamIdleTimeoutMs`). */
  timeoutMs: posInt.optional(),
});

const base = {
  name: slug,
  upstream: httpUrl,
  credential: credentialSchema.optional(),
  limits: limitsSchema.optional(),
};

const emptyOptions = z.strictObject({}).optional();

/** One upstream the gateway fronts; `options` depend on `type`. */
export const connectionSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...base, type: z.literal('http'), options: emptyOptions }),
  z.strictObject({
    ...base,
    type: z.literal('git'),
    options: z
      .strictObject({
        /** Ref globs (`refs/heads/main`, `refs/heads/release/*`, `refs/tags/**`) policy sees as `attrs.protected`. */
        protectedRefs: z.array(nonEmpty).default([]),
        /** Where the gateway keeps its bare mirrors of the upstream repositories (default `<bus.dataDir>/git-mirrors`). */
        cacheDir: nonEmpty.optional(),
        /** Time allowed for updating a mirror from the upstream (and indexing the pushed pack) before a push is classified. */
        mirrorTimeoutMs: posInt.default(120_000),
        /**
         * While the gateway works on a push (mirror update, approval, waiting for the upstream), it
         * keeps git's connection alive with side-band progress (`remote: agentgate: …`): the first
         * after this long, then at this interval.
         */
        progressIntervalMs: z.number().int().min(100).max(60_000).default(5_000),
      })
      .prefault({}),
  }),
  z.strictObject({ ...base, type: z.literal('registry'), options: emptyOptions }),
  z.strictObject({ ...base, type: z.literal('kubernetes'), options: emptyOptions }),
  z.strictObject({ ...base, type: z.literal('llm'), options: z.strictObject({ provider: z.enum(['openai', 'anthropic']) }) }),
]);

/** `connections`: the upstreams, names unique. */
export const connectionsSchema = z
  .array(connectionSchema)
  .default([])
  .superRefine((list, ctx) => {
    checkUnique(ctx, list.map((c) => c.name), (i) => [i, 'name'], 'connection name');
  });

export type ConnectionConfig = z.output<typeof connectionSchema>;
export type ConnectionsConfig = z.output<typeof connectionsSchema>;
