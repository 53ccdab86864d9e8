import type { z } from 'zod';
import type {
  ACTION_PHASES,
  APPROVAL_STATUSES,
  auditEventSchema,
  CI_PROVIDERS,
  DECISION_EFFECTS,
  EVENT_OUTCOMES,
  GIT_REF_KINDS,
  LINK_RULES,
  principalSchema,
} from './schema.js';

/** An audit event (ECS 9.x aligned + the `agentgate.*` namespace). See schema.ts for every field. */
export type AuditEvent = z.infer<typeof auditEventSchema>;
/** The authenticated caller: shared by identity, proxy and policy. `expiresAt` is in epoch seconds. */
export type Principal = z.infer<typeof principalSchema>;
export type CiProvider = (typeof CI_PROVIDERS)[number];
export type CiContext = Principal['ci'];
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];
export type DecisionEffect = (typeof DECISION_EFFECTS)[number];
export type ActionPhase = (typeof ACTION_PHASES)[number];
export type GitRefKind = (typeof GIT_REF_KINDS)[number];
export type LinkRule = (typeof LINK_RULES)[number];
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
/** `agentgate.*` of an event. */
export type AgentgateFields = AuditEvent['agentgate'];
/** A policy decision as services hand it to the builders: the effect goes to `agentgate.decision`, the rule to `rule.*`, the reason to `event.reason`. */
export interface Decision {
  effect: DecisionEffect;
  rule?: string;
  reason?: string;
}
/** The exchange that proposed an action, as the correlation step finds it: `agentgate.link` plus `gen_ai.tool.call.id`. */
export interface LinkInput {
  exchange_id: string;
  tool_call_id?: string;
  rule: LinkRule;
}
/** `error.*` of an event. */
export type ErrorFields = NonNullable<AuditEvent['error']>;
/** `agentgate.llm` of an event (what an exchange adds beyond `gen_ai.*`). */
export type LlmFields = NonNullable<AgentgateFields['llm']>;
/** `agentgate.approval` of an event (held / approved / rejected / expired). */
export type ApprovalFields = NonNullable<AgentgateFields['approval']>;
/** `agentgate.registry` of an event. */
export type RegistryFields = NonNullable<AgentgateFields['registry']>;
export type GitRefUpdate = NonNullable<AgentgateFields['git']>['refs'][number];
/** `agentgate.kubernetes` of an event: one Kubernetes API call. */
export type KubernetesFields = NonNullable<AgentgateFields['kubernetes']>;
export type MaskingFinding = NonNullable<AgentgateFields['masking']>['findings'][number];
export type HttpFields = NonNullable<AuditEvent['http']>;
export type UrlFields = NonNullable<AuditEvent['url']>;
export type SourceFields = NonNullable<AuditEvent['source']>;
export type DestinationFields = NonNullable<AuditEvent['destination']>;
export type GenAiFields = NonNullable<AuditEvent['gen_ai']>;
/** `gen_ai.*` input/output message of an event. */
export type GenAiMessage = NonNullable<GenAiFields['input']>['messages'][number];
/** `agentgate.mcp` of an event (an MCP message through the gateway). */
export type McpFields = NonNullable<AgentgateFields['mcp']>;
