import { z } from 'zod';
import { checkUnique, httpUrl, nonEmpty, posInt, slug } from '../lib/common.js';

export const CONNECTION_TYPES = ['http', 'git', 'registry', 'kubernetes', 'llm', 'mcp'] as const;

const credentialSchema = z
  .strictObject({
    /** Name of a configured secret; the value itself never appears in this file. */
    ref: nonEmpty,
    /**
     * How the proxy presents it upstream: an Authorization header (bearer, basic), a named header,
     * or (`client-certificate`, kubernetes connections only) in the TLS handshake: the secret is then
     * a PEM bundle holding the client certificate (chain) and its private key.
     */
    inject: z.enum(['bearer', 'basic', 'header', 'client-certificate']),
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

/**
 * Client request headers no connection may forward: the client's own credential and hop-by-hop/framing
 * headers (the gateway frames and authenticates upstream itself), and method-override / URL-rewrite
 * headers (they would make the upstream do something other than what policy decided). The proxy strips
 * them unconditionally; naming one in `requests.forwardHeaders` is a configuration error.
 */
export const NEVER_FORWARDED_HEADERS = [
  'authorization',
  'proxy-authorization',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-method',
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
] as const;

const headerName = z
  .string()
  .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'expected a header name')
  .transform((h) => h.toLowerCase())
  .refine((h) => !(NEVER_FORWARDED_HEADERS as readonly string[]).includes(h), {
    message: 'this header is never forwarded (client credential, framing, method override or URL rewrite)',
  });

/**
 * How the gateway treats what a client sends on this connection, the same for every connection type.
 * Defaults are the strict side; each relaxation is an explicit per-connection decision.
 */
const requestsSchema = z
  .strictObject({
    /**
     * Allow `;` in path segments (matrix / path parameters, `/a;v=1/b`). Off by default: servlet containers
     * (Tomcat, Jetty, Spring) strip `;…` before routing, so `/public/..;/private` passes a rule on `/public/`
     * and reaches `/private`. Segments that are dot-segments once `;…` is removed are refused even when on.
     */
    allowMatrixParams: z.boolean().default(false),
    /**
     * Client headers to forward although the gateway strips them by default: client-asserted identity
     * (`forwarded`, `x-forwarded-*`, `x-real-ip`, `true-client-ip`, `x-client-ip`, `x-host`, `x-original-host`,
     * `via`, …) and credential-shaped headers (`cookie`, `x-api-key`, `private-token`, `x-auth-token`, any
     * name with a `token`, `api-key`, `secret`, `password`, `session` or `auth` part, …). Lower-cased.
     */
    forwardHeaders: z.array(headerName).default([]),
  })
  .prefault({});

// --- Response masking (README "Security" → "What is masked"): these fields and their defaults stay together. ---

/** `maskResponses`: what is masked in responses — detectors + every brokered secret, every brokered secret, or the connection's own credential. */
export const MASK_RESPONSES = ['all', 'brokered', 'credential'] as const;
export type MaskResponses = (typeof MASK_RESPONSES)[number];

/**
 * Default `maskResponses` by type: API payloads (`http`, `llm`, `mcp`) are masked
 * with everything; binary or content-addressed data (git packs, registry
 * blobs) and Kubernetes objects keep credential-only masking, since
 * rewriting them would corrupt what the client verifies.
 */
export const MASK_RESPONSES_DEFAULT: Readonly<Record<(typeof CONNECTION_TYPES)[number], MaskResponses>> = {
  http: 'all',
  llm: 'all',
  git: 'credential',
  registry: 'credential',
  kubernetes: 'credential',
  // MCP tool results go to the model, like an llm or http API payload.
  mcp: 'all',
};

const responseFields = {
  maskResponses: z.enum(MASK_RESPONSES),
  /**
   * A masked response the gateway cannot inspect (an unknown content or
   * transfer coding, a compressed archive such as zip or xz): refused
   * (default) or passed unchanged, labelled as not inspected.
   */
  uninspectable: z.enum(['refuse', 'pass']).default('refuse'),
};

/** Fills `maskResponses` with its type's default before validation, so the parsed config always holds it. */
function withResponseDefaults(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const c = v as Record<string, unknown>;
  if (c.maskResponses !== undefined || typeof c.type !== 'string' || !Object.hasOwn(MASK_RESPONSES_DEFAULT, c.type)) return v;
  return { ...c, maskResponses: MASK_RESPONSES_DEFAULT[c.type as keyof typeof MASK_RESPONSES_DEFAULT] };
}

/** Git pack data is binary and checksummed: only the credential's exact forms are masked in it. */
function gitMasksCredentialOnly(c: { type: string; maskResponses: MaskResponses }, ctx: z.RefinementCtx): void {
  if (c.type === 'git' && c.maskResponses !== 'credential') {
    ctx.addIssue({ code: 'custom', path: ['maskResponses'], message: 'git connections mask the credential only (pack data is binary): use credential' });
  }
}

// --- end of response masking ---

const base = {
  name: slug,
  upstream: httpUrl,
  credential: credentialSchema.optional(),
  limits: limitsSchema.optional(),
  requests: requestsSchema,
  ...responseFields,
};

/** Options of an `mcp` connection (MCP Streamable HTTP server); see services/proxy/src/adapters/mcp/README.md. */
const mcpOptions = z
  .strictObject({
    /** Drop from `tools/list` the tools policy denies to the caller whatever their arguments. */
    filterTools: z.boolean().default(true),
    /** Largest JSON-RPC message (a POST body, one SSE event, a JSON answer) the gateway reads; larger ones are refused. */
    maxMessageBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    /** How long an `Mcp-Session-Id` stays bound to the principal that opened it (since it was opened). */
    sessionTtlMs: z
      .number()
      .int()
      .min(60_000)
      .max(7 * 24 * 3600_000)
      .default(24 * 3600_000),
    /** Characters of tool arguments and results kept in the audit event (masked, then cut). */
    recordChars: z
      .number()
      .int()
      .min(0)
      .max(64 * 1024)
      .default(4096),
  })
  .prefault({});

/** Options of a `kubernetes` connection (see services/proxy/src/adapters/kubernetes/README.md). */
const kubernetesOptions = z
  .strictObject({
    /** PEM CA bundle the API server's certificate must chain to (https upstreams); default: the system CAs. */
    caFile: nonEmpty.optional(),
    /** Server name checked against the API server's certificate, when it differs from the upstream host. */
    tlsServerName: nonEmpty.optional(),
    /**
     * Impersonation: the upstream request carries `Impersonate-User`/`Impersonate-Group` for the
     * OIDC principal, so the cluster's audit log and RBAC see the agent (the gateway's credential
     * then needs the `impersonate` verb). Client-sent `Impersonate-*` headers are always removed.
     */
    impersonate: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** Principal field that becomes the user name: the token's subject, or the CI actor (falls back to the subject). */
        user: z.enum(['subject', 'actor']).default('subject'),
        userPrefix: z.string().max(64).default('agentgate:'),
        /** Pass the principal's gateway groups (each with `groupPrefix`) as `Impersonate-Group`. */
        groups: z.boolean().default(true),
        groupPrefix: z.string().max(64).default('agentgate:'),
        /** Groups added to every impersonated request (e.g. `system:authenticated`). */
        extraGroups: z.array(nonEmpty).default([]),
      })
      .prefault({}),
    /** Namespace globs (`prod`, `prod-*`, `kube-*`) policy sees as `attrs.protectedNamespace`. */
    protectedNamespaces: z.array(nonEmpty).default([]),
    /** Bytes of a write's body read to classify it (scale to zero); larger bodies of such writes are refused. */
    maxInspectBytes: posInt.default(3 * 1024 * 1024),
    /** Largest response object (or watch event) buffered to mask Secrets/ConfigMaps/Events; larger ones are cut. */
    maxObjectBytes: posInt.default(64 * 1024 * 1024),
    /** exec/attach/port-forward sessions: bytes of each direction kept (masked) in the audit record. */
    sessionRecordBytes: z
      .number()
      .int()
      .min(0)
      .max(1024 * 1024)
      .default(64 * 1024),
  })
  .prefault({});

// --- forge (http connections that front a forge's API: GitHub, GitLab) ---

/** The forges whose API the http adapter classifies into named actions (`forge.*`). */
export const FORGE_TYPES = ['github', 'gitlab'] as const;

const forgeObject = z.strictObject({
  type: z.enum(FORGE_TYPES),
  /**
   * The git connection of the same forge (its upstream serves `<owner>/<repo>.git`): ref updates made
   * through the API (`PATCH /repos/{o}/{r}/git/refs/{ref}` with `force: true`) are decided by ancestry
   * in that connection's mirror, and its `protectedRefs` set `attrs.protected`. Without it a forced ref
   * update cannot be proven a fast-forward and is classified as `forge.ref_force_update` (fail closed).
   */
  git: slug.optional(),
  /** Largest request body read to classify a call whose action depends on it (bigger ones are refused, 413). */
  maxBodyBytes: posInt.max(16 * 1024 * 1024).default(1024 * 1024),
});

/** `options.forge`: `github` | `gitlab`, or `{ type, git, maxBodyBytes }`. */
const forgeSchema = z.preprocess((v) => (typeof v === 'string' ? { type: v } : v), forgeObject);

const httpOptions = z.strictObject({ forge: forgeSchema.optional() }).optional();

/** Every `options.forge.git` names a git connection. */
function checkForgeGit(list: ReadonlyArray<{ name: string; type: string; options?: unknown }>, ctx: z.RefinementCtx): void {
  const types = new Map(list.map((c) => [c.name, c.type]));
  list.forEach((c, i) => {
    const git = c.type === 'http' ? (c.options as { forge?: { git?: string } } | undefined)?.forge?.git : undefined;
    if (git !== undefined && types.get(git) !== 'git') {
      ctx.addIssue({ code: 'custom', path: [i, 'options', 'forge', 'git'], message: `"${git}" is not a git connection` });
    }
  });
}

// --- end forge ---

/** One upstream the gateway fronts; `options` depend on `type`. */
export const connectionSchema = z
  .preprocess(
    withResponseDefaults,
    z.discriminatedUnion('type', [
      z.strictObject({ ...base, type: z.literal('http'), options: httpOptions }),
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
      z.strictObject({
        ...base,
        type: z.literal('registry'),
        options: z
          .strictObject({
            /**
             * Token endpoints (`realm` of the upstream's Bearer challenge) the gateway may send the credential to,
             * as URLs whose origin is compared; a realm on the upstream's own host name needs no entry.
             */
            tokenRealms: z.array(httpUrl).default([]),
            /** Largest manifest the gateway reads, digests and forwards (Distribution's own limit is 4 MiB). */
            maxManifestBytes: posInt.max(64 * 1024 * 1024).default(4 * 1024 * 1024),
          })
          .prefault({}),
      }),
      z.strictObject({ ...base, type: z.literal('kubernetes'), options: kubernetesOptions }),
      z.strictObject({ ...base, type: z.literal('llm'), options: z.strictObject({ provider: z.enum(['openai', 'anthropic']) }) }),
      z.strictObject({ ...base, type: z.literal('mcp'), options: mcpOptions }),
    ]),
  )
  .superRefine(gitMasksCredentialOnly);

/** `connections`: the upstreams, names unique. */
export const connectionsSchema = z
  .array(connectionSchema)
  .default([])
  .superRefine((list, ctx) => {
    checkUnique(
      ctx,
      list.map((c) => c.name),
      (i) => [i, 'name'],
      'connection name',
    );
    list.forEach((c, i) => {
      // A client certificate is presented in the TLS handshake: only the kubernetes adapter knows how.
      if (c.credential?.inject === 'client-certificate' && c.type !== 'kubernetes') {
        ctx.addIssue({ code: 'custom', path: [i, 'credential', 'inject'], message: 'client-certificate is supported by kubernetes connections only' });
      }
    });

    checkForgeGit(list, ctx);
  });

export type ConnectionConfig = z.output<typeof connectionSchema>;
export type ConnectionsConfig = z.output<typeof connectionsSchema>;
