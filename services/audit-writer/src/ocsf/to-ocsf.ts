import { type AuditEvent, chainOf } from '@agentgate/events';

/** The OCSF schema version the records follow. */
export const OCSF_VERSION = '1.3.0';

/** An OCSF record (JSON object). */
export type OcsfRecord = Record<string, unknown>;

const API_ACTIVITY = { class_uid: 6003, class_name: 'API Activity', category_uid: 6, category_name: 'Application Activity' } as const;
const AUTHENTICATION = { class_uid: 3002, class_name: 'Authentication', category_uid: 3, category_name: 'Identity & Access Management' } as const;

/** API Activity's activity_id from the action kind: 1 create, 2 read, 3 update, 4 delete, 99 other. */
function apiActivity(kind: string): { id: number; name: string } {
  if (/(^|[._])(delete|remove)/.test(kind)) return { id: 4, name: 'Delete' };
  if (/(^|[._])(create|tag_create)/.test(kind)) return { id: 1, name: 'Create' };
  if (/(^|[._])(push|force_push|update|patch|put|post|tag_overwrite|exec)/.test(kind)) return { id: 3, name: 'Update' };
  if (/(^|[._])(fetch|clone|pull|get|list|read|catalog|watch)/.test(kind)) return { id: 2, name: 'Read' };
  return { id: 99, name: 'Other' };
}

/**
 * The decision as OCSF's security-control attributes: `action_id` (1 allowed,
 * 2 denied) and `disposition_id` (1 allowed, 2 blocked, 8 approved, 14 delayed
 * for a hold, 25 rejected).
 */
function disposition(e: AuditEvent): Record<string, unknown> {
  const phase = e.agentgate.action.phase;
  const effect = e.agentgate.decision?.effect;
  const pick = (action: [number, string], disp: [number, string]) => ({
    action_id: action[0],
    action: action[1],
    disposition_id: disp[0],
    disposition: disp[1],
  });
  if (phase === 'denied') return pick([2, 'Denied'], [2, 'Blocked']);
  if (phase === 'rejected' || phase === 'expired') return pick([2, 'Denied'], [25, 'Rejected']);
  if (phase === 'held') return pick([0, 'Unknown'], [14, 'Delayed']);
  if (phase === 'approved') return pick([1, 'Allowed'], [8, 'Approved']);
  if (effect === 'allow' || effect === 'review') return pick([1, 'Allowed'], [1, 'Allowed']);
  return {};
}

function status(e: AuditEvent): Record<string, unknown> {
  const o = e.event.outcome;
  const id = o === 'success' ? 1 : o === 'failure' ? 2 : 0;
  return {
    status_id: id,
    status: ['Unknown', 'Success', 'Failure'][id],
    ...(e.event.reason !== undefined && { status_detail: e.event.reason }),
    ...(e.error?.code !== undefined && { status_code: e.error.code }),
  };
}

/** The base attributes every record has: time, severity, metadata (with the hash chain), observables kept small. */
function base(
  e: AuditEvent,
  cls: { class_uid: number; class_name: string; category_uid: number; category_name: string },
  activity: { id: number; name: string },
): OcsfRecord {
  const c = chainOf(e);
  return {
    ...cls,
    activity_id: activity.id,
    activity_name: activity.name,
    type_uid: cls.class_uid * 100 + activity.id,
    time: Date.parse(e['@timestamp']),
    severity_id: e.event.outcome === 'failure' ? 3 : 1,
    severity: e.event.outcome === 'failure' ? 'Medium' : 'Informational',
    ...status(e),
    message: e.event.reason ?? e.event.action,
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'agentgate', vendor_name: 'agentgate', ...(e.observer.name !== undefined && { uid: e.observer.name }) },
      uid: e.event.id,
      correlation_uid: e.agentgate.session.id,
      log_name: e.event.dataset,
      ...(c && { sequence: c.seq }),
    },
    // The tamper-evident chain: OCSF 1.3 has no event-chain object, so it rides in `unmapped` (see the README).
    ...(c && { unmapped: { chain: { partition: c.partition, sequence: c.seq, previous_hash: c.prevHash, hash: { algorithm: 'SHA-256', value: c.hash } } } }),
  };
}

function endpoint(e: AuditEvent): Record<string, unknown> {
  return { ...(e.source?.ip !== undefined ? { ip: e.source.ip } : { name: 'unknown' }), ...(e.source?.port !== undefined && { port: e.source.port }) };
}

/**
 * One audit event as an OCSF 1.3 record: a refusal before authentication is
 * Authentication (3002, logon failed); every action (git, registry,
 * Kubernetes, HTTP, LLM, MCP) is API Activity (6003) with the principal as
 * actor, the action as api.operation, the target as a resource and the policy
 * decision as action/disposition.
 */
export function toOcsf(e: AuditEvent): OcsfRecord {
  if (e.agentgate.action.phase === 'refused') {
    return {
      ...base(e, AUTHENTICATION, { id: 1, name: 'Logon' }),
      // Nobody was authenticated: the subject is unknown, which is what OCSF's user type 0 says.
      user: { name: 'unknown', type_id: 0, type: 'Unknown' },
      src_endpoint: endpoint(e),
      service: { name: 'agentgate', ...(e.agentgate.action.connection !== undefined && { uid: e.agentgate.action.connection }) },
      is_remote: true,
      ...(e.agentgate.refusal && { count: e.agentgate.refusal.count }),
    };
  }
  const p = e.agentgate.principal;
  const resources: Record<string, unknown>[] = [];
  for (const r of e.agentgate.git?.refs ?? []) resources.push({ type: 'git_ref', name: r.ref, ...(r.kind && { labels: [r.kind] }) });
  if (e.agentgate.registry?.repository) resources.push({ type: 'container_repository', name: e.agentgate.registry.repository });
  if (resources.length === 0 && e.url?.path) resources.push({ type: 'url', name: e.url.path });
  return {
    ...base(e, API_ACTIVITY, apiActivity(e.event.action)),
    ...disposition(e),
    actor: {
      user: {
        uid: e.user?.id ?? 'unknown',
        ...(e.user?.name !== undefined && { name: e.user.name }),
        ...(e.user?.group?.name && { groups: e.user.group.name.map((name) => ({ name })) }),
      },
      ...(p && { idp: { name: p.issuer } }),
      session: { uid: e.agentgate.session.id },
    },
    api: {
      operation: e.event.action,
      service: { name: e.agentgate.action.connection ?? 'agentgate' },
      ...(e.http?.request?.id !== undefined && { request: { uid: e.http.request.id } }),
    },
    src_endpoint: endpoint(e),
    ...(e.destination?.address !== undefined && {
      dst_endpoint: { hostname: e.destination.address, ...(e.destination.port !== undefined && { port: e.destination.port }) },
    }),
    ...(e.http?.request?.method !== undefined && {
      http_request: { http_method: e.http.request.method, ...(e.url?.full !== undefined && { url: { url_string: e.url.full } }) },
    }),
    ...(resources.length > 0 && { resources }),
    ...(e.rule?.name !== undefined && { policy: { name: e.rule.name, ...(e.rule.id !== undefined && { uid: e.rule.id }) } }),
  };
}
