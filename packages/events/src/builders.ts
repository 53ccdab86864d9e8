import { newEventId } from './ids.js';
import { ECS_VERSION } from './schema.js';
import type {
  ActionPhase,
  AgentgateFields,
  AuditEvent,
  Decision,
  DestinationFields,
  ErrorFields,
  EventOutcome,
  GenAiFields,
  HttpFields,
  LinkInput,
  Principal,
  SourceFields,
  UrlFields,
} from './types.js';

/**
 * ECS classification per phase. Choice for denials: `event.type: ['denied']`
 * with `event.outcome: 'failure'`: the outcome describes the action the agent
 * attempted (it did not happen), as CloudTrail "AccessDenied" maps in ECS,
 * so `event.outcome:failure` finds every blocked or failed attempt.
 * An intent (`requested`, `held`) has outcome `unknown`: nothing happened yet.
 */
const PHASE_ECS: Record<ActionPhase, { type: string[]; outcome: EventOutcome }> = {
  requested: { type: ['start'], outcome: 'unknown' },
  held: { type: ['info'], outcome: 'unknown' },
  approved: { type: ['allowed'], outcome: 'success' },
  rejected: { type: ['denied'], outcome: 'failure' },
  expired: { type: ['denied'], outcome: 'failure' },
  denied: { type: ['denied'], outcome: 'failure' },
  completed: { type: ['end'], outcome: 'success' },
  failed: { type: ['end', 'error'], outcome: 'failure' },
  exposure: { type: ['info'], outcome: 'unknown' },
  // ECS allows start/end/info for the authentication category: a failed attempt to start is start + failure.
  refused: { type: ['start'], outcome: 'failure' },
};

/** ECS categories from the action kind's family (`git.force_push` → git). */
function categoriesFor(kind: string): string[] {
  const dot = kind.indexOf('.');
  const family = dot === -1 ? kind : kind.slice(0, dot);
  if (family === 'http' || family === 'llm' || family === 'mcp') return ['api', 'web'];
  if (family === 'kubernetes' || family === 'registry' || family === 'git') return ['api', 'configuration'];
  return ['api'];
}

/** What services pass to build an action event; optional parts are copied only when present. */
export interface ActionEventInput {
  phase: ActionPhase;
  principal: Principal;
  action: { id: string; kind: string; connection?: string; attributes?: Record<string, unknown> };
  decision?: Decision;
  /** Overrides the phase's default outcome (e.g. 'failure' for a completed request answered 5xx). */
  outcome?: EventOutcome;
  reason?: string;
  http?: HttpFields;
  url?: UrlFields;
  source?: SourceFields;
  destination?: DestinationFields;
  userAgent?: string;
  traceId?: string;
  spanId?: string;
  /** Nanoseconds spent, for `completed`/`failed`. */
  durationNs?: number;
  masking?: AgentgateFields['masking'];
  git?: AgentgateFields['git'];
  registry?: AgentgateFields['registry'];
  llm?: AgentgateFields['llm'];
  mcp?: AgentgateFields['mcp'];
  kubernetes?: AgentgateFields['kubernetes'];
  /** The exchange that proposed the action: `agentgate.link`, and its tool call id in `gen_ai.tool.call.id`. */
  link?: LinkInput;
  /** `error.*`: an error the upstream answered (e.g. a JSON-RPC error of an MCP server). */
  error?: ErrorFields;
  exposure?: AgentgateFields['exposure'];
  /** The approval the action was held for (held / approved / rejected / expired). */
  approval?: AgentgateFields['approval'];
  genAi?: GenAiFields;
  labels?: AuditEvent['labels'];
  /** Extra ECS categories (e.g. 'iam' for approvals). */
  categories?: string[];
  /** The gateway instance (`observer.name`). */
  observerName?: string;
  /** Clock and id, injectable for tests. */
  now?: Date;
  id?: string;
}

/** The non-empty strings of `values`, each once, in first-seen order (a loop: these lists hold two or three items). */
function uniq(values: ReadonlyArray<string | undefined>): string[] {
  const out: string[] = [];
  for (const v of values) if (typeof v === 'string' && v.length > 0 && !out.includes(v)) out.push(v);
  return out;
}

/**
 * `gen_ai.*` of an action: the adapter's fields, plus the tool call that
 * proposed it (from the link) when the adapter named none.
 */
function genAiOf(input: ActionEventInput): GenAiFields | undefined {
  const toolCall = input.link?.tool_call_id;
  if (toolCall === undefined || input.genAi?.tool?.call?.id !== undefined) return input.genAi;
  const g = input.genAi ?? {};
  return { ...g, tool: { ...g.tool, call: { ...g.tool?.call, id: toolCall } } };
}

/**
 * Builds an audit event for one phase of one action so every service fills
 * ECS fields the same way: `event.action` = action kind, category from the
 * kind's family, type/outcome from the phase (see PHASE_ECS), `user.*` from
 * the principal (`user.id` = subject, `user.name` = CI actor or subject,
 * `user.group.name` = groups; claims are left out: they are unbounded and may
 * carry personal data), `agentgate.principal` with what ECS has no field for
 * (issuer, CI context), `rule.*` and `event.reason` from the decision.
 */
export function buildActionEvent(input: ActionEventInput): AuditEvent {
  const now = input.now ?? new Date();
  const ecs = PHASE_ECS[input.phase];
  const p = input.principal;
  const actor = p.ci.actor;
  // Built by assignment in the order a spread of each optional part would give (the same JSON), without the
  // throw-away objects `...(x !== undefined && { x })` allocates: this runs twice per proxied request.
  const action: AgentgateFields['action'] = { id: input.action.id, phase: input.phase };
  if (input.action.connection !== undefined) action.connection = input.action.connection;
  if (input.action.attributes !== undefined) action.attributes = input.action.attributes;
  const agentgate: AgentgateFields = { session: { id: p.sessionId }, action, principal: { issuer: p.issuer, ci: { ...p.ci } } };
  if (input.decision !== undefined) agentgate.decision = { effect: input.decision.effect };
  if (input.masking !== undefined) agentgate.masking = input.masking;
  if (input.git !== undefined) agentgate.git = input.git;
  if (input.registry !== undefined) agentgate.registry = input.registry;
  if (input.llm !== undefined) agentgate.llm = input.llm;
  if (input.mcp !== undefined) agentgate.mcp = input.mcp;
  if (input.kubernetes !== undefined) agentgate.kubernetes = input.kubernetes;
  if (input.link !== undefined) agentgate.link = { exchange_id: input.link.exchange_id, rule: input.link.rule };
  if (input.exposure !== undefined) agentgate.exposure = input.exposure;
  if (input.approval !== undefined) agentgate.approval = input.approval;
  const reason = input.reason ?? input.decision?.reason;
  const at = now.toISOString();
  // dataset and module come after the optional reason/created/duration (the order of the JSON), set below.
  const ev = {
    id: input.id ?? newEventId(now.getTime()),
    kind: 'event',
    // categoriesFor gives a fresh list without repeats: only extra categories need merging.
    category: input.categories === undefined ? categoriesFor(input.action.kind) : uniq([...categoriesFor(input.action.kind), ...input.categories]),
    type: ecs.type.slice(),
    action: input.action.kind,
    outcome: input.outcome ?? ecs.outcome,
  } as AuditEvent['event'];
  if (reason !== undefined) ev.reason = reason;
  ev.created = at;
  if (input.durationNs !== undefined) ev.duration = input.durationNs;
  ev.dataset = 'agentgate.audit';
  ev.module = 'agentgate';
  const user: AuditEvent['user'] = { id: p.subject, name: actor ?? p.subject };
  if (p.groups.length > 0) user.group = { name: p.groups.slice() };
  const observer: AuditEvent['observer'] = { type: 'proxy', vendor: 'agentgate' };
  if (input.observerName !== undefined) observer.name = input.observerName;
  // The approver is a user of the action too: a search for a person finds what they approved.
  const related: AuditEvent['related'] = { user: uniq([p.subject, actor, input.approval?.approver?.subject]) };
  if (input.destination?.address !== undefined) related.hosts = [input.destination.address];
  const event: AuditEvent = { '@timestamp': at, ecs: { version: ECS_VERSION }, event: ev, user, observer, related, agentgate };
  if (input.decision?.rule !== undefined) event.rule = { id: input.decision.rule, name: input.decision.rule };
  if (input.http) event.http = input.http;
  if (input.url) event.url = input.url;
  if (input.source) event.source = input.source;
  if (input.destination) event.destination = input.destination;
  if (input.userAgent !== undefined) event.user_agent = { original: input.userAgent };
  if (input.traceId !== undefined) event.trace = { id: input.traceId };
  if (input.spanId !== undefined) event.span = { id: input.spanId };
  if (input.error) event.error = input.error;
  const genAi = genAiOf(input);
  if (genAi) event.gen_ai = genAi;
  if (input.labels) event.labels = input.labels;
  return event;
}

/** Input of an exposure event: a secret was found (and masked) in traffic of an action. */
export interface ExposureEventInput extends Omit<ActionEventInput, 'phase' | 'exposure' | 'masking'> {
  secretRef: string;
  findings: NonNullable<AgentgateFields['masking']>['findings'];
}

/** An `exposure` phase event (kind 'event', never 'alert'/'signal': ECS reserves those for detections). */
export function buildExposureEvent(input: ExposureEventInput): AuditEvent {
  const { secretRef, findings, ...rest } = input;
  const count = findings.reduce((n, f) => n + f.count, 0);
  return buildActionEvent({
    ...rest,
    phase: 'exposure',
    exposure: { secret_ref: secretRef },
    masking: { count, findings },
  });
}

/** The session id of refusals before authentication: there is no principal, so no session of its own. */
export const UNAUTHENTICATED_SESSION = 'unauthenticated';

/** Input of a `refused` event: requests refused before authentication, aggregated per source and code. */
export interface RefusalEventInput {
  /** The client-facing error code (ERR_AUTH_INVALID, ERR_BAD_TARGET, …). */
  code: string;
  /** What was refused, for people (`event.reason`). */
  reason: string;
  /** How many refusals of this source and code the event stands for (at least 1). */
  count: number;
  /** First and last refusal counted. */
  first: Date;
  last: Date;
  source?: SourceFields;
  /** The connection named by the requests, when it exists and was the same for all of them. */
  connection?: string;
  observerName?: string;
  labels?: AuditEvent['labels'];
  now?: Date;
  id?: string;
}

/**
 * A `refused` event: ECS `event.category: authentication`, `event.type:
 * start`, `event.outcome: failure` (a failed attempt to authenticate, as
 * failed logons map in ECS), `event.reason` and `error.code` naming why, `agentgate.refusal.count` with `event.start`/`event.end` for
 * how many and when. No principal, no user: nobody was authenticated.
 */
export function buildRefusalEvent(input: RefusalEventInput): AuditEvent {
  const now = input.now ?? new Date();
  const id = input.id ?? newEventId(now.getTime());
  const ecs = PHASE_ECS.refused;
  const event: AuditEvent = {
    '@timestamp': now.toISOString(),
    ecs: { version: ECS_VERSION },
    event: {
      id,
      kind: 'event',
      category: ['authentication'],
      type: [...ecs.type],
      action: 'auth.refused',
      outcome: ecs.outcome,
      reason: input.reason,
      created: now.toISOString(),
      start: input.first.toISOString(),
      end: input.last.toISOString(),
      dataset: 'agentgate.audit',
      module: 'agentgate',
    },
    observer: { type: 'proxy', vendor: 'agentgate', ...(input.observerName !== undefined && { name: input.observerName }) },
    error: { code: input.code },
    agentgate: {
      session: { id: UNAUTHENTICATED_SESSION },
      action: { id, phase: 'refused', ...(input.connection !== undefined && { connection: input.connection }) },
      refusal: { count: input.count },
    },
  };
  if (input.source) event.source = input.source;
  if (input.labels) event.labels = input.labels;
  return event;
}
