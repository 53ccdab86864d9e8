export { EventError } from './errors.js';
export {
  ACTION_PHASES,
  APPROVAL_STATUSES,
  CI_PROVIDERS,
  DECISION_EFFECTS,
  EVENT_OUTCOMES,
  GIT_REF_KINDS,
  LINK_RULES,
  ECS_VERSION,
  EVENT_SCHEMA_VERSION,
  auditEventSchema,
  fieldMappings,
  principalSchema,
} from './schema.js';
export { upgradeEvent } from './upgrade.js';
export { validateEvent, validateParsedEvent, validatePrincipal, isAuditEvent } from './validate.js';
export { newEventId, isEventId, eventIdTime, derivedEventId } from './ids.js';
export { canonicalize } from './canonical.js';
/** Shared by every package that validates with zod, so error paths read the same everywhere. */
export { flattenIssues, formatPath } from './lib/format-issues.js';
export { GENESIS_HASH, HASH_EXCLUDED_FIELDS, chainOf, hashEvent, hashableForm, sealEvent, verifyEventHash } from './hash.js';
export { buildActionEvent, buildExposureEvent, buildRefusalEvent, UNAUTHENTICATED_SESSION } from './builders.js';
export { buildTrail, clip } from './trail.js';
export { formatTrail } from './trail-format.js';
export {
  AUDIT_CHECKPOINT_PREFIX,
  AUDIT_CLEAN_PREFIX,
  AUDIT_DLQ_PREFIX,
  AUDIT_RAW_PREFIX,
  STREAMS,
  SUBJECTS,
  auditStreamConfig,
  checkpointSubject,
  cleanSubject,
  decodeEvent,
  decodeSubjectToken,
  dlqSubject,
  encodeEvent,
  encodeSubjectToken,
  eventMsgId,
  rawSubject,
} from './subjects.js';

export type { EventErrorCode, EventIssue } from './errors.js';
export type {
  ActionPhase,
  AgentgateFields,
  ApprovalFields,
  ApprovalStatus,
  AuditEvent,
  CiContext,
  CiProvider,
  Decision,
  DecisionEffect,
  DestinationFields,
  ErrorFields,
  EventOutcome,
  GenAiFields,
  GenAiMessage,
  LinkInput,
  LlmFields,
  McpFields,
  GitRefKind,
  GitRefUpdate,
  RegistryFields,
  HttpFields,
  KubernetesFields,
  LinkRule,
  MaskingFinding,
  Principal,
  SourceFields,
  UrlFields,
} from './types.js';
export type { ChainPosition, ChainView } from './hash.js';
export type { FieldMapping } from './schema.js';
export type { TrailStep, TrailToolCall } from './trail.js';
export type { AuditStreamConfig, AuditStreamDef, AuditStreamLimits } from './subjects.js';
export type { ActionEventInput, ExposureEventInput, RefusalEventInput } from './builders.js';
