import { z } from 'zod';

/**
 * Zod schemas of the audit event and of the principal.
 *
 * The event is ECS exactly (schema version {@link EVENT_SCHEMA_VERSION}):
 * every field is either an ECS field of ECS's type ({@link ECS_VERSION}) or
 * lives under `agentgate.*`, and no `agentgate.*` field repeats what an ECS
 * field already says (services/audit-writer/test/ecs-conformance.test.ts
 * walks this schema and both index templates to prove it). Objects are
 * strict (unknown keys rejected) so a typo never reaches the index silently;
 * `labels`, `agentgate.action.attributes` and the `flattened` gen_ai message
 * fields are the open ends (marked in {@link fieldMappings}).
 */

const str = z.string();
const id = z.string().min(1);
const count = z.number().int().nonnegative();
const port = z.number().int().min(0).max(65535);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex characters');
const isoTime = z.iso.datetime({ offset: true });
const strings = z.array(str);

/** The ECS version the events conform to: the field list the conformance test checks against. */
export const ECS_VERSION = '9.5.0-dev';
/**
 * Version of the event layout (field names and places). 1: until 0.x of
 * issue 20 (custom duplicates of ECS fields); 2: ECS exactly. The index
 * templates carry it (`_meta.version`, index names `<prefix>-v2-*`).
 */
export const EVENT_SCHEMA_VERSION = 2;

/** How the index maps a schema node that is not walked further: an open object. */
export interface FieldMapping {
  mapping: 'flattened' | 'object';
}
/** Schema nodes the index maps as one field (`flattened`, or `labels`' keyword object). */
export const fieldMappings = z.registry<FieldMapping>();
function mapped<T extends z.ZodType>(schema: T, mapping: FieldMapping['mapping']): T {
  fieldMappings.add(schema, { mapping });
  return schema;
}

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
export const ACTION_PHASES = ['requested', 'held', 'approved', 'rejected', 'expired', 'denied', 'completed', 'failed', 'exposure', 'refused'] as const;
export const CI_PROVIDERS = ['github-actions', 'gitlab-ci', 'generic'] as const;
export const GIT_REF_KINDS = ['create', 'fast-forward', 'force-push', 'delete', 'tag-create', 'tag-update', 'tag-delete'] as const;
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

/** `agentgate.decision`: the policy's effect. The rule is `rule.name`/`rule.id`, its reason `event.reason`. */
const decisionSchema = z.strictObject({
  effect: z.enum(DECISION_EFFECTS),
});

// --- MCP (services/proxy/src/adapters/mcp): these fields stay together. ---

/**
 * One MCP message (or batch) through the gateway: the JSON-RPC method and
 * id, the tool and its arguments, the result (masked and cut to the
 * connection's `recordChars`), how the tool list was filtered. The
 * `Mcp-Session-Id` is recorded as a hash (`session`): it is bound to its
 * principal, but the trail need not hand it out. The tool is
 * `gen_ai.tool.name`, a JSON-RPC error `error.code` / `error.message`.
 * `arguments` and `result` stay here: they are masked text cut to
 * `recordChars` (often not JSON any more), while ECS's
 * `gen_ai.tool.call.arguments/result` are `flattened` objects.
 */
const mcpSchema = z.strictObject({
  method: id,
  request_id: str.optional(),
  session: str.optional(),
  arguments: str.optional(),
  result: str.optional(),
  is_error: z.boolean().optional(),
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

/**
 * `agentgate.llm`: what an LLM exchange adds beyond `gen_ai.*` (the API
 * flavour, streaming, offered tools, how much was masked, timings, whether
 * the answer arrived whole).
 */
const llmSchema = z.strictObject({
  api: str.optional(),
  stream: z.boolean().optional(),
  /** Names of the tools the request offered the model (definitions are not kept). */
  tools: strings.optional(),
  /** Secrets masked in the prompt before it left. */
  prompt_masked: count.optional(),
  /** Secrets masked in the completion and tool-call arguments. */
  completion_masked: count.optional(),
  latency_ms: count.optional(),
  ttfb_ms: count.optional(),
  /** The response reached its protocol end marker. */
  complete: z.boolean().optional(),
  /** The stream broke before the end. */
  broken: z.boolean().optional(),
  /** The upstream answered with an error body. */
  error_response: z.boolean().optional(),
});

const agentgateSchema = z.strictObject({
  session: z.strictObject({ id }),
  /** The action (its kind is `event.action`): id shared by all its phases, the phase, the connection, the policy's input. */
  action: z.strictObject({
    id,
    phase: z.enum(ACTION_PHASES),
    connection: str.optional(),
    attributes: mapped(z.record(z.string(), z.unknown()), 'flattened').optional(),
  }),
  decision: decisionSchema.optional(),
  /** Who called, beyond `user.*` (`user.id` = subject, `user.group.name` = groups): the token issuer and the CI context. */
  principal: z
    .strictObject({
      issuer: id,
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
  llm: llmSchema.optional(),
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
  /** The llm exchange that proposed this action (the tool call is `gen_ai.tool.call.id`). */
  link: z
    .strictObject({
      exchange_id: id,
      rule: z.enum(LINK_RULES),
    })
    .optional(),
  exposure: z.strictObject({ secret_ref: id }).optional(),
  approval: approvalSchema.optional(),
  /** Phase `refused`: how many requests of this source the event stands for (`event.start`…`event.end`); the code is `error.code`. */
  refusal: z.strictObject({ count: count.min(1) }).optional(),
  /**
   * Where the event sits in its hash chain, beyond `event.sequence` (the
   * position) and `event.hash` (the hash): the partition and the previous
   * event's hash.
   */
  chain: z
    .strictObject({
      partition: id,
      prev_hash: hex64,
    })
    .optional(),
  /** Set only on a chain filler (audit-writer): a slot whose event was dead-lettered or already indexed. */
  filler: z.strictObject({ kind: z.enum(['dead-letter', 'duplicate']) }).optional(),
});

/** One part of a gen_ai message (OpenTelemetry GenAI semantic conventions: text, or a tool call with its arguments as masked text). */
const messagePartSchema = z.union([
  z.strictObject({ type: z.literal('text'), content: str }),
  z.strictObject({ type: z.literal('tool_call'), id: str.optional(), name: str, arguments: str.optional() }),
]);
/** A gen_ai input/output message (`role`, `parts`; an output message also names its `finish_reason`). */
const messageSchema = z.strictObject({
  role: str,
  parts: z.array(messagePartSchema),
  finish_reason: str.optional(),
});
const messages = () => mapped(z.array(messageSchema), 'flattened');
/** One value or several (a keyword field holds either). */
const oneOrMany = z.union([str, strings]);

const genAiSchema = z.strictObject({
  request: z.strictObject({ model: str.optional(), max_tokens: count.optional() }).optional(),
  // Not gen_ai.response.finish_reasons: ECS 9.5.0-dev types it `nested`, which cannot hold the list of
  // strings OpenTelemetry defines; the reason is in gen_ai.output.messages[].finish_reason.
  response: z.strictObject({ model: str.optional() }).optional(),
  provider: z.strictObject({ name: str.optional() }).optional(),
  operation: z.strictObject({ name: str.optional() }).optional(),
  /** System instructions given apart from the messages (Anthropic `system`, OpenAI Responses `instructions`), masked and abridged. */
  system_instructions: mapped(z.array(messagePartSchema), 'flattened').optional(),
  /** The prompt: the last messages, masked and abridged. */
  input: z.strictObject({ messages: messages() }).optional(),
  /** The completion and tool calls, masked and abridged. */
  output: z.strictObject({ messages: messages() }).optional(),
  /** The tool(s): on an exchange every tool call it proposed, on an action the one it executes. */
  tool: z
    .strictObject({
      name: oneOrMany.optional(),
      call: z.strictObject({ id: oneOrMany.optional() }).optional(),
    })
    .optional(),
  usage: z.strictObject({ input_tokens: count.optional(), output_tokens: count.optional() }).optional(),
});

/** The audit event. */
export const auditEventSchema = z.strictObject({
  '@timestamp': isoTime,
  ecs: z.strictObject({ version: z.literal(ECS_VERSION) }),
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
    /** Position in the hash chain of `agentgate.chain.partition` (1-based). */
    sequence: count.optional(),
    /** The chain hash (see hash.ts); outside the hashed form. */
    hash: hex64.optional(),
  }),
  user: z.strictObject({ id: str.optional(), name: str.optional(), group: z.strictObject({ name: strings }).optional() }).optional(),
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
  /** A refusal's code, or the JSON-RPC error an MCP server answered. */
  error: z.strictObject({ code: str.optional(), message: str.optional() }).optional(),
  observer: z.strictObject({
    type: z.literal('proxy'),
    vendor: z.literal('agentgate'),
    name: str.optional(),
  }),
  related: z.strictObject({ user: strings.optional(), hosts: strings.optional(), hash: strings.optional() }).optional(),
  labels: mapped(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])), 'object').optional(),
  gen_ai: genAiSchema.optional(),
  agentgate: agentgateSchema,
});
