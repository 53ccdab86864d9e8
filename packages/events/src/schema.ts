import { z } from 'zod';

/**
 * Zod schemas of the audit event (ECS 9.x aligned) and of the principal.
 * Core objects are strict (unknown keys rejected) so a typo never reaches
 * the index silently; `labels`, `agentgate.action.attributes` and
 * `agentgate.llm` are the open ends.
 */

const str = z.string();
const id = z.string().min(1);
const count = z.number().int().nonnegative();
const port = z.number().int().min(0).max(65535);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex characters');
const isoTime = z.iso.datetime({ offset: true });
const strings = z.array(str);

export const EVENT_OUTCOMES = ['success', 'failure', 'unknown'] as const;
export const DECISION_EFFECTS = ['allow', 'deny', 'review'] as const;
/**
 * Phases of an action's life: requested (intent recorded before forwarding),
 * held (waiting for approval), approved / rejected / expired (approval result),
 * denied (policy), completed / failed (upstream result), exposure (a secret
 * was seen and masked). `refused` is the one phase without a principal:
 * requests refused before anyone was authenticated (bad tokens, malformed
 * requests, unknown connections), aggregated per source and reason
 * (`agentgate.refusal`).
 */
export const ACTION_PHASES = [
  'requested',
  'held',
  'approved',
  'rejected',
  'expired',
  'denied',
  'completed',
  'failed',
  'exposure',
  'refused',
] as const;
export const CI_PROVIDERS = ['github-actions', 'gitlab-ci', 'generic'] as const;
export const GIT_REF_KINDS = [
  'create',
  'fast-forward',
  'force-push',
  'delete',
  'tag-create',
  'tag-update',
  'tag-delete',
] as const;
export const LINK_RULES = ['tool-call-match', 'latest-exchange'] as const;
/** States of an approval record: pending until decided; `cancelled` when the held client went away. */
export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'cancelled'] as const;

/**
 * `agentgate.approval`: the approval an action was held for, on `held`,
 * `approved`, `rejected`, `expired` (and `failed` when the holder gave up).
 * Structured (never labels) so a SOC can search who approved what, when,
 * for which exact bytes (`body_sha256`) under which policy (`policy_version`).
 */
const approvalSchema = z.strictObject({
  /** The approval id (= the action id of the held request). */
  id,
  status: z.enum(APPROVAL_STATUSES),
  requested_at: isoTime.optional(),
  expires_at: isoTime.optional(),
  decided_at: isoTime.optional(),
  /** The approver's (or the system's, for expiry) reason. */
  reason: str.optional(),
  approver: z
    .strictObject({
      subject: id,
      issuer: str.optional(),
      groups: strings,
      session_id: str.optional(),
    })
    .optional(),
  /** SHA-256 (hex) of the exact body bytes that were approved and are forwarded. */
  body_sha256: hex64.optional(),
  body_bytes: count.optional(),
  /** SHA-256 (hex) over the canonical binding (kind, connection, request line, headers, body digest, parts). */
  binding_sha256: hex64.optional(),
  /** SHA-256 (hex) of the canonical policy section the review decision came from. */
  policy_version: hex64.optional(),
  /** The gateway instance that recorded the decision (the deciding proxy). */
  decided_via: str.optional(),
});

const ciSchema = z.strictObject({
  provider: z.enum(CI_PROVIDERS),
  repository: str.optional(),
  ref: str.optional(),
  workflow: str.optional(),
  run: str.optional(),
  attempt: str.optional(),
  actor: str.optional(),
  environment: str.optional(),
});

/** The authenticated caller, as identity hands it to proxy and policy. */
export const principalSchema = z.strictObject({
  issuer: id,
  subject: id,
  groups: strings,
  claims: z.record(z.string(), z.unknown()),
  ci: ciSchema,
  sessionId: id,
  expiresAt: z.number().int().nonnegative(),
});

const decisionSchema = z.strictObject({
  effect: z.enum(DECISION_EFFECTS),
  rule: str.optional(),
  reason: str.optional(),
});

// --- MCP (services/proxy/src/adapters/mcp): these fields stay together. ---

/**
 * One MCP message (or batch) through the gateway: the JSON-RPC method and
 * id, the tool and its arguments, the result (masked and cut to the
 * connection's `recordChars`), how the tool list was filtered. The
 * `Mcp-Session-Id` is recorded as a hash (`session`): it is bound to its
 * principal, but the trail need not hand it out.
 */
const mcpSchema = z.strictObject({
  method: id,
  request_id: str.optional(),
  session: str.optional(),
  tool: str.optional(),
  arguments: str.optional(),
  result: str.optional(),
  is_error: z.boolean().optional(),
  error: z.strictObject({ code: z.number().int(), message: str }).optional(),
  uri: str.optional(),
  prompt: str.optional(),
  batch: count.optional(),
  methods: strings.optional(),
  tools: z.strictObject({ listed: count, hidden: count, hidden_names: strings }).optional(),
  events: count.optional(),
  complete: z.boolean().optional(),
  truncated: z.boolean().optional(),
});

// --- end of MCP ---

const agentgateSchema = z.strictObject({
  session: z.strictObject({ id }),
  action: z.strictObject({
    id,
    kind: id,
    phase: z.enum(ACTION_PHASES),
    connection: str.optional(),
    attributes: z.record(z.string(), z.unknown()).optional(),
  }),
  decision: decisionSchema.optional(),
  principal: z
    .strictObject({
      issuer: id,
      subject: id,
      groups: strings,
      ci: ciSchema.optional(),
    })
    .optional(),
  masking: z
    .strictObject({
      count,
      findings: z.array(z.strictObject({ type: id, ref: str.optional(), count })),
    })
    .optional(),
  git: z
    .strictObject({
      refs: z.array(
        z.strictObject({
          ref: id,
          old: str,
          new: str,
          kind: z.enum(GIT_REF_KINDS),
          decision: z.enum(DECISION_EFFECTS).optional(),
        }),
      ),
      commits: count.optional(),
      bytes: count.optional(),
    })
    .optional(),
  /** A container registry action (registry adapter): what was pulled, pushed, overwritten or deleted. */
  registry: z
    .strictObject({
      repository: id,
      tag: str.optional(),
      digest: str.optional(),
      media_type: str.optional(),
      size: count.optional(),
      tag_existed: z.boolean().optional(),
      previous_digest: str.optional(),
      mount_from: str.optional(),
    })
    .optional(),
  llm: z.record(z.string(), z.unknown()).optional(),
  mcp: mcpSchema.optional(),
  /** A Kubernetes API call: what the API server was asked (kubernetes connections). */
  kubernetes: z
    .strictObject({
      verb: id,
      api_group: str.optional(),
      api_version: str.optional(),
      resource: str.optional(),
      subresource: str.optional(),
      namespace: str.optional(),
      name: str.optional(),
      /** Non-resource requests (discovery, OpenAPI, /version, /metrics…). */
      path: str.optional(),
      dry_run: z.boolean().optional(),
      patch_type: str.optional(),
      scale_to_zero: z.boolean().optional(),
      replicas: z.number().int().optional(),
      /** The identity the upstream request impersonated (Impersonate-User). */
      impersonated_user: str.optional(),
      /** The API server's `Status.reason` when it refused or failed the call (NotFound, Conflict, Forbidden…). */
      status_reason: str.optional(),
      /** Secret values masked in the response (a `kubernetes.secret_read` returns no value in clear without a rule). */
      masked_values: count.optional(),
      /** An exec/attach/port-forward session, recorded masked and bounded. */
      session: z
        .strictObject({
          protocol: str,
          bytes_in: count,
          bytes_out: count,
          messages_in: count.optional(),
          messages_out: count.optional(),
          /** Per channel (stdin, stdout, stderr, error…): the first bytes, masked. */
          channels: z.record(z.string(), z.strictObject({ bytes: count, text: str.optional(), truncated: z.boolean().optional() })).optional(),
          /** How the session ended: closed by the client, the upstream, an error. */
          end: str.optional(),
        })
        .optional(),
    })
    .optional(),
  link: z
    .strictObject({
      exchange_id: id,
      tool_call_id: str.optional(),
      rule: z.enum(LINK_RULES),
    })
    .optional(),
  exposure: z.strictObject({ secret_ref: id }).optional(),
  approval: approvalSchema.optional(),
  /** Phase `refused`: the refusal's code and how many requests of this source it stands for (`event.start`…`event.end`). */
  refusal: z.strictObject({ code: id, count: count.min(1) }).optional(),
  chain: z
    .strictObject({
      partition: id,
      seq: count,
      prev_hash: hex64,
      // Empty only transiently while sealing; a stored event carries the hex hash.
      hash: z.union([hex64, z.literal('')]),
    })
    .optional(),
});

const genAiSchema = z.strictObject({
  request: z.strictObject({ model: str.optional() }).optional(),
  provider: z.strictObject({ name: str.optional() }).optional(),
  operation: z.strictObject({ name: str.optional() }).optional(),
  tool: z
    .strictObject({
      name: str.optional(),
      call: z.strictObject({ id: str.optional() }).optional(),
    })
    .optional(),
  usage: z.strictObject({ input_tokens: count.optional(), output_tokens: count.optional() }).optional(),
});

/** The audit event. */
export const auditEventSchema = z.strictObject({
  '@timestamp': isoTime,
  event: z.strictObject({
    id,
    // 'signal' and 'alert' are reserved in ECS for detection output; the gateway records events.
    kind: z.literal('event'),
    category: z.array(str).min(1),
    type: z.array(str).min(1),
    action: id,
    outcome: z.enum(EVENT_OUTCOMES),
    reason: str.optional(),
    created: isoTime.optional(),
    ingested: isoTime.optional(),
    /** First and last occurrence of what an aggregated event counts (phase `refused`). */
    start: isoTime.optional(),
    end: isoTime.optional(),
    duration: count.optional(),
    dataset: z.literal('agentgate.audit'),
    module: z.literal('agentgate'),
    sequence: count.optional(),
    hash: str.optional(),
  }),
  user: z.strictObject({ id: str.optional(), name: str.optional(), roles: strings.optional() }).optional(),
  source: z.strictObject({ ip: str.optional(), port: port.optional() }).optional(),
  destination: z.strictObject({ address: str.optional(), port: port.optional() }).optional(),
  url: z.strictObject({ path: str.optional(), full: str.optional(), original: str.optional() }).optional(),
  http: z
    .strictObject({
      request: z.strictObject({ method: str.optional(), bytes: count.optional(), id: str.optional() }).optional(),
      response: z.strictObject({ status_code: z.number().int().min(100).max(999).optional(), bytes: count.optional() }).optional(),
    })
    .optional(),
  user_agent: z.strictObject({ original: str }).optional(),
  trace: z.strictObject({ id }).optional(),
  span: z.strictObject({ id }).optional(),
  rule: z.strictObject({ id: str.optional(), name: str.optional() }).optional(),
  observer: z.strictObject({
    type: z.literal('proxy'),
    vendor: z.literal('agentgate'),
    name: str.optional(),
  }),
  related: z
    .strictObject({ user: strings.optional(), hosts: strings.optional(), hash: strings.optional() })
    .optional(),
  labels: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  gen_ai: genAiSchema.optional(),
  agentgate: agentgateSchema,
});
