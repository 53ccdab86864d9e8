import type { KubernetesFields } from '@agentgate/events';
import { compileGlobs, type GlobMatcher } from '@agentgate/policy';
import type { AdapterRequest, Classification } from '../types.js';
import { deleteOptions, patchTypeOf, readBounded, replicasEffect, type ReplicasEffect } from './body.js';
import { type KubeOptions, kubeOptions } from './options.js';
import { type RequestInfo, type ResourceRequest, requestInfo } from './request-info.js';
import { kubeRefusal } from './status.js';
import { type PerConnection, perConnection } from '../per-connection.js';

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

/** Each kubernetes connection's `protectedNamespaces`, compiled at start-up (kubernetesAdapter.checkConnection). */
export const protectedNamespaces: PerConnection<GlobMatcher> = perConnection((c) => compileGlobs(kubeOptions(c).protectedNamespaces, { dialect: 'path' }));

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
      return {
        kind,
        attributes,
        audit,
        adapterState: facts,
        allow: { rule: DISCOVERY_RULE, reason: 'discovery and OpenAPI reads are allowed so clients can work' },
      };
    }
    return { kind, attributes, audit, adapterState: facts, ...singlePart(kind, attributes) };
  }
  return classifyResource(req, info, opts);
}

/** What the request line (and a delete's options) say of a resource request, before any write body is read. */
export interface ResourceShape {
  readonly info: ResourceRequest;
  /** exec/attach/portforward on a pod: a WebSocket session. */
  readonly stream: boolean;
  /** The verb the API server authorizes. */
  readonly verb: string;
  readonly dryRun: boolean;
  /** A self-review (auth can-i, whoami): a POST that stores nothing. */
  readonly selfReview: boolean;
  readonly mutating: boolean;
  readonly patchType: ReturnType<typeof patchTypeOf> | undefined;
  readonly apiVersion: string;
  readonly deleteOptions: ReturnType<typeof deleteOptions> | undefined;
  /** The body, when it was read (a delete's options); forwarded as read. */
  readonly body: Buffer | undefined;
}

/** The shape of a resource request: verb, dry run, self-review, patch type; a delete's body (its DeleteOptions) is read, bounded. */
export async function resourceShape(req: AdapterRequest, info: ResourceRequest, opts: KubeOptions): Promise<ResourceShape> {
  const stream = info.resource === 'pods' && STREAMS.has(info.subresource);
  // The API server authorizes exec/attach/portforward as `create` whatever the method (a WebSocket handshake is a GET).
  const verb = stream ? 'create' : info.verb;
  // A delete's DeleteOptions body may hold dryRun (kubectl puts --dry-run=server there), a grace period, a propagation policy.
  const deleting = verb === 'delete' || verb === 'deletecollection';
  const body = deleting && hasBody(req) ? await readBounded(req.body, Math.min(opts.maxInspectBytes, req.maxBodyBytes)) : undefined;
  const delOpts = body ? deleteOptions(body, req.headers['content-type']) : undefined;
  const dryRun = (list(req.query, 'dryRun') ?? []).some((v) => v === 'All') || delOpts?.dryRun === true;
  const selfReview = info.group === 'authorization.k8s.io' || info.group === 'authentication.k8s.io' ? SELF_REVIEWS.has(info.resource) : false;
  return {
    info,
    stream,
    verb,
    dryRun,
    selfReview,
    mutating: WRITE_VERBS.has(verb) && !dryRun && !selfReview,
    patchType: verb === 'patch' ? patchTypeOf(req.headers['content-type']) : undefined,
    apiVersion: info.group ? `${info.group}/${info.version}` : info.version,
    deleteOptions: delOpts,
    body,
  };
}

/** The policy attributes the request line, query and delete options give (see the adapter README for each). */
export function resourceAttributes(req: AdapterRequest, shape: ResourceShape): Record<string, unknown> {
  const { info, verb, patchType } = shape;
  const attributes: Record<string, unknown> = {
    verb,
    apiGroup: info.group,
    apiVersion: shape.apiVersion,
    resource: info.resource,
    subresource: info.subresource,
    namespace: info.namespace,
    name: info.name,
    namespaced: info.namespace !== '',
    protectedNamespace: info.namespace !== '' && protectedNamespaces.of(req.connection)(info.namespace),
    dryRun: shape.dryRun,
    mutating: shape.mutating,
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
  if (shape.stream) Object.assign(attributes, streamAttributes(req.query));
  const delOpts = shape.deleteOptions;
  if (delOpts?.propagationPolicy) attributes['propagationPolicy'] = delOpts.propagationPolicy;
  if (delOpts?.gracePeriodSeconds !== undefined) attributes['gracePeriodSeconds'] = delOpts.gracePeriodSeconds;
  return attributes;
}

/** What an exec/attach/portforward asks for: container, command, ports, tty, stdin (bounded). */
function streamAttributes(q: AdapterRequest['query']): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  const container = flag(q, 'container');
  if (container !== undefined) attributes['container'] = container.slice(0, 253);
  const command = list(q, 'command');
  if (command) attributes['command'] = command.slice(0, 64).map((c) => c.slice(0, 1024));
  const ports = list(q, 'ports');
  if (ports) attributes['ports'] = ports.slice(0, 64);
  attributes['tty'] = flag(q, 'tty') === 'true' || flag(q, 'tty') === '1';
  attributes['stdin'] = flag(q, 'stdin') === 'true' || flag(q, 'stdin') === '1';
  return attributes;
}

/** A write that could set replicas to zero is read (bounded) before deciding: the replicas it sets, and the body to forward. */
async function scaleEffect(
  req: AdapterRequest,
  shape: ResourceShape,
  opts: KubeOptions,
): Promise<{ replicas: ReplicasEffect | undefined; body: Buffer | undefined }> {
  const { verb, info } = shape;
  const scaleWrite = (verb === 'update' || verb === 'patch') && (info.subresource === 'scale' || (SCALABLE.has(info.resource) && info.subresource === ''));
  if (!scaleWrite) return { replicas: undefined, body: shape.body };
  const body = await readBounded(req.body, Math.min(opts.maxInspectBytes, req.maxBodyBytes));
  return { replicas: replicasEffect(body, req.headers['content-type'], req.headers['content-encoding']), body };
}

/** The named actions a request is besides `kubernetes.<verb>` (each decided too); sets `namespaceDeletion` on the attributes. */
export function namedActions(shape: ResourceShape, scaleToZero: boolean, attributes: Record<string, unknown>): string[] {
  const { info, verb } = shape;
  const named: string[] = [];
  if (shape.stream) named.push(`kubernetes.${info.subresource}`);
  if (scaleToZero) named.push('kubernetes.scale_to_zero');
  if (verb === 'deletecollection') named.push('kubernetes.delete');
  if ((verb === 'delete' || verb === 'deletecollection') && info.resource === 'namespaces' && info.group === '') {
    attributes['namespaceDeletion'] = true;
    named.push('kubernetes.namespace_delete');
  }
  if (shape.mutating || (shape.dryRun && WRITE_VERBS.has(verb))) {
    if (info.group === 'rbac.authorization.k8s.io') named.push('kubernetes.rbac_change');
    if (info.group === 'admissionregistration.k8s.io') named.push('kubernetes.admission_change');
  }
  const secretRead = info.resource === 'secrets' && info.group === '' && (verb === 'get' || verb === 'list' || verb === 'watch');
  if (secretRead) named.push('kubernetes.secret_read');
  return named;
}

/** Whether Secret values may be returned in clear: a rule must name this action (the policy default never grants it). */
function secretsInClear(req: AdapterRequest, info: ResourceRequest, attributes: Record<string, unknown>): boolean {
  if (info.resource !== 'secrets' || info.group !== '' || !req.decide) return false;
  const d = req.decide({ kind: SECRET_CLEAR_KIND, attributes });
  const clear = d.effect === 'allow' && d.rule !== null;
  attributes['secretsInClear'] = clear;
  return clear;
}

function resourceAudit(shape: ResourceShape, replicas: ReplicasEffect | undefined, scaleToZero: boolean): KubernetesFields {
  const { info, verb, patchType } = shape;
  return {
    verb,
    api_version: shape.apiVersion,
    resource: info.resource,
    ...(info.group && { api_group: info.group }),
    ...(info.subresource && { subresource: info.subresource }),
    ...(info.namespace && { namespace: info.namespace }),
    ...(info.name && { name: info.name }),
    ...(shape.dryRun && { dry_run: true }),
    ...(patchType && { patch_type: patchType }),
    ...(scaleToZero && { scale_to_zero: true }),
    ...(typeof replicas === 'number' && { replicas }),
  };
}

async function classifyResource(req: AdapterRequest, info: ResourceRequest, opts: KubeOptions): Promise<Classification> {
  const shape = await resourceShape(req, info, opts);
  const attributes = resourceAttributes(req, shape);
  const { replicas, body } = await scaleEffect(req, shape, opts);
  if (replicas !== undefined && replicas !== 'unset') attributes['replicas'] = replicas === 'unknown' ? null : replicas;
  const scaleToZero = replicas === 0 || replicas === 'unknown';
  attributes['scaleToZero'] = scaleToZero;
  const named = namedActions(shape, scaleToZero, attributes);
  const facts: KubeFacts = { info, secretsInClear: secretsInClear(req, info, attributes) };
  // Self-reviews (kubectl auth can-i, auth whoami) are reads: they ask, they store nothing.
  const verbKind = shape.selfReview ? 'kubernetes.get' : `kubernetes.${shape.verb}`;
  const kinds = [verbKind, ...named];
  const kind = kinds[kinds.length - 1] ?? verbKind;
  const longRunning = info.subresource === 'log' || shape.verb === 'watch' || shape.stream || info.verb === 'proxy';
  return {
    kind,
    attributes,
    audit: { kubernetes: resourceAudit(shape, replicas, scaleToZero) },
    adapterState: facts,
    ...(body && { body, bodyLength: body.length }),
    ...(longRunning ? { longRunning: true } : {}),
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
