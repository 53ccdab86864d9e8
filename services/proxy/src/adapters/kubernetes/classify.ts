import type { KubernetesFields } from '@agentgate/events';
import type { AdapterRequest, Classification } from '../types.js';
import { deleteOptions, patchTypeOf, readBounded, replicasEffect, type ReplicasEffect } from './body.js';
import { type KubeOptions, kubeOptions } from './options.js';
import { type RequestInfo, type ResourceRequest, requestInfo } from './request-info.js';
import { kubeRefusal } from './status.js';

/** Workloads whose `spec.replicas` a write can set to zero (besides any `scale` subresource). */
const SCALABLE = new Set(['deployments', 'statefulsets', 'replicasets', 'replicationcontrollers']);
/** Streaming subresources of pods: actions of their own, proxied as upgrades. */
const STREAMS = new Set(['exec', 'attach', 'portforward']);
/** Self-reviews ask the API server what the caller may do: POSTs that store nothing. */
const SELF_REVIEWS = new Set(['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'selfsubjectreviews']);
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Built-in rule name for discovery/OpenAPI/version/health reads (kubectl needs them before anything else). */
export const DISCOVERY_RULE = 'kubernetes-discovery';
/** Policy action asked to decide whether a Secret read may return values in clear (masked otherwise). */
export const SECRET_CLEAR_KIND = 'kubernetes.secret_read.clear';

/** The facts of one request the adapter keeps for its response observer (masking). */
export interface KubeFacts {
  readonly info: RequestInfo;
  /** Secret values may be returned in clear (a rule allowed `kubernetes.secret_read.clear`). */
  readonly secretsInClear: boolean;
}

function flag(q: AdapterRequest['query'], key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function list(q: AdapterRequest['query'], key: string): string[] | undefined {
  const v = q[key];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v : [v];
}

function hasBody(req: AdapterRequest): boolean {
  return (req.contentLength ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
}

function globMatch(glob: string, value: string): boolean {
  const re = new RegExp(`^${glob.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(value);
}

/**
 * Classifies one request (see the adapter README for the table): every
 * request is decided as `kubernetes.<verb>` and, when it is one of the
 * named actions, as that too (all must be allowed: a deny on
 * `kubernetes.delete` also stops a namespace deletion or a deletecollection).
 * Discovery and OpenAPI reads are allowed by the built-in rule. Only writes
 * that can scale a workload to zero have their body read (bounded).
 */
export async function classifyKube(req: AdapterRequest): Promise<Classification> {
  const info = requestInfo(req.method, req.path, req.query);
  const opts = kubeOptions(req.connection);
  if (info.type !== 'resource') {
    const read = info.verb === 'get' || info.verb === 'head';
    const kind = info.type !== 'nonresource' && read ? 'kubernetes.discovery' : 'kubernetes.nonresource';
    const attributes = { verb: info.verb, path: info.path, nonResource: true, mutating: !read };
    const audit = { kubernetes: { verb: info.verb, path: info.path } satisfies KubernetesFields };
    const facts: KubeFacts = { info, secretsInClear: false };
    if (kind === 'kubernetes.discovery') {
      return { kind, attributes, audit, adapterState: facts, allow: { rule: DISCOVERY_RULE, reason: 'discovery and OpenAPI reads are allowed so clients can work' } };
    }
    return { kind, attributes, audit, adapterState: facts, ...singlePart(kind, attributes) };
  }
  return classifyResource(req, info, opts);
}

async function classifyResource(req: AdapterRequest, info: ResourceRequest, opts: KubeOptions): Promise<Classification> {
  const stream = info.resource === 'pods' && STREAMS.has(info.subresource);
  // The API server authorizes exec/attach/portforward as `create` whatever the method (a WebSocket handshake is a GET).
  const verb = stream ? 'create' : info.verb;
  // A delete's DeleteOptions body may hold dryRun (kubectl puts --dry-run=server there), a grace period, a propagation policy.
  let body: Buffer | undefined;
  const deleting = verb === 'delete' || verb === 'deletecollection';
  if (deleting && hasBody(req)) body = await readBounded(req.body, Math.min(opts.maxInspectBytes, req.maxBodyBytes));
  const delOpts = body ? deleteOptions(body, req.headers['content-type']) : undefined;
  const dryRun = (list(req.query, 'dryRun') ?? []).some((v) => v === 'All') || delOpts?.dryRun === true;
  const selfReview = info.group === 'authorization.k8s.io' || info.group === 'authentication.k8s.io' ? SELF_REVIEWS.has(info.resource) : false;
  const mutating = WRITE_VERBS.has(verb) && !dryRun && !selfReview;
  const patchType = verb === 'patch' ? patchTypeOf(req.headers['content-type']) : undefined;
  const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
  const attributes: Record<string, unknown> = {
    verb,
    apiGroup: info.group,
    apiVersion,
    resource: info.resource,
    subresource: info.subresource,
    namespace: info.namespace,
    name: info.name,
    namespaced: info.namespace !== '',
    protectedNamespace: info.namespace !== '' && opts.protectedNamespaces.some((g) => globMatch(g, info.namespace)),
    dryRun,
    mutating,
  };
  if (patchType) attributes['patchType'] = patchType;
  if (patchType === 'apply') {
    attributes['apply'] = true;
    attributes['force'] = flag(req.query, 'force') === 'true';
  }
  const fieldManager = flag(req.query, 'fieldManager');
  if (fieldManager !== undefined) attributes['fieldManager'] = fieldManager.slice(0, 128);
  for (const key of ['labelSelector', 'fieldSelector'] as const) {
    const v = flag(req.query, key);
    if (v !== undefined) attributes[key] = v.slice(0, 512);
  }
  if (stream) {
    const container = flag(req.query, 'container');
    if (container !== undefined) attributes['container'] = container.slice(0, 253);
    const command = list(req.query, 'command');
    if (command) attributes['command'] = command.slice(0, 64).map((c) => c.slice(0, 1024));
    const ports = list(req.query, 'ports');
    if (ports) attributes['ports'] = ports.slice(0, 64);
    attributes['tty'] = flag(req.query, 'tty') === 'true' || flag(req.query, 'tty') === '1';
    attributes['stdin'] = flag(req.query, 'stdin') === 'true' || flag(req.query, 'stdin') === '1';
  }

  if (delOpts?.propagationPolicy) attributes['propagationPolicy'] = delOpts.propagationPolicy;
  if (delOpts?.gracePeriodSeconds !== undefined) attributes['gracePeriodSeconds'] = delOpts.gracePeriodSeconds;

  // A write that could set replicas to zero is read (bounded) before deciding.
  let replicas: ReplicasEffect | undefined;
  const scaleWrite = (verb === 'update' || verb === 'patch') && (info.subresource === 'scale' || (SCALABLE.has(info.resource) && info.subresource === ''));
  if (scaleWrite) {
    body = await readBounded(req.body, Math.min(opts.maxInspectBytes, req.maxBodyBytes));
    replicas = replicasEffect(body, req.headers['content-type'], req.headers['content-encoding']);
    if (replicas !== 'unset') attributes['replicas'] = replicas === 'unknown' ? null : replicas;
  }
  const scaleToZero = replicas === 0 || replicas === 'unknown';
  attributes['scaleToZero'] = scaleToZero;

  const named: string[] = [];
  if (stream) named.push(`kubernetes.${info.subresource}`);
  if (scaleToZero) named.push('kubernetes.scale_to_zero');
  if (verb === 'deletecollection') named.push('kubernetes.delete');
  if ((verb === 'delete' || verb === 'deletecollection') && info.resource === 'namespaces' && info.group === '') {
    attributes['namespaceDeletion'] = true;
    named.push('kubernetes.namespace_delete');
  }
  if (mutating || (dryRun && WRITE_VERBS.has(verb))) {
    if (info.group === 'rbac.authorization.k8s.io') named.push('kubernetes.rbac_change');
    if (info.group === 'admissionregistration.k8s.io') named.push('kubernetes.admission_change');
  }
  const secretRead = info.resource === 'secrets' && info.group === '' && (verb === 'get' || verb === 'list' || verb === 'watch');
  if (secretRead) named.push('kubernetes.secret_read');

  let secretsInClear = false;
  if (info.resource === 'secrets' && info.group === '' && req.decide) {
    // A rule must name this action (the policy default never grants it): only then are values returned in clear.
    const d = req.decide({ kind: SECRET_CLEAR_KIND, attributes });
    secretsInClear = d.effect === 'allow' && d.rule !== null;
    attributes['secretsInClear'] = secretsInClear;
  }

  // Self-reviews (kubectl auth can-i, auth whoami) are reads: they ask, they store nothing.
  const verbKind = selfReview ? 'kubernetes.get' : `kubernetes.${verb}`;
  const kinds = [verbKind, ...named];
  const kind = kinds[kinds.length - 1] ?? verbKind;
  const audit: KubernetesFields = {
    verb,
    api_version: apiVersion,
    resource: info.resource,
    ...(info.group && { api_group: info.group }),
    ...(info.subresource && { subresource: info.subresource }),
    ...(info.namespace && { namespace: info.namespace }),
    ...(info.name && { name: info.name }),
    ...(dryRun && { dry_run: true }),
    ...(patchType && { patch_type: patchType }),
    ...(scaleToZero && { scale_to_zero: true }),
    ...(typeof replicas === 'number' && { replicas }),
  };
  const facts: KubeFacts = { info, secretsInClear };
  return {
    kind,
    attributes,
    audit: { kubernetes: audit },
    adapterState: facts,
    ...(body && { body, bodyLength: body.length }),
    ...(info.subresource === 'log' || verb === 'watch' || stream || info.verb === 'proxy' ? { longRunning: true } : {}),
    parts: {
      actions: kinds.map((k) => ({ kind: k, attributes })),
      settle: (decisions) => settleParts(kinds, decisions),
    },
  };
}

/** One part, so a refusal is rendered by the adapter (a Status) with the rule that decided. */
function singlePart(kind: string, attributes: Record<string, unknown>): Pick<Classification, 'parts'> {
  return { parts: { actions: [{ kind, attributes }], settle: (decisions) => settleParts([kind], decisions) } };
}

/**
 * A denial names the action that was not allowed, its rule and reason
 * (kubectl prints it). A review gets no refusal here: the pipeline holds it
 * for an approver, or refuses it as "approval required" when none can decide.
 */
function settleParts(kinds: string[], decisions: ReadonlyArray<{ effect: 'allow' | 'deny' | 'review'; rule: string | null; reason: string }>) {
  const at = decisions.findIndex((d) => d.effect === 'deny');
  const d = decisions[at];
  if (!d) return {};
  return { refusal: kubeRefusal(kinds[at] ?? 'kubernetes', d) };
}
