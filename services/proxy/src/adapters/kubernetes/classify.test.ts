import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { loadConfig } from '@agentgate/config';
import type { AdapterRequest, Connection } from '../types.js';
import { classifyKube, namedActions, protectedNamespaces, resourceAttributes, resourceShape } from './classify.js';
import { kubeOptions } from './options.js';
import { type ResourceRequest, requestInfo } from './request-info.js';

const config = loadConfig({
  text: `
connections:
  - name: cluster
    type: kubernetes
    upstream: http://kube.test
    options:
      protectedNamespaces: [prod, 'prod-*', 'team/*']
`,
  env: {},
});
const conn = config.connections[0] as Connection;

function request(
  method: string,
  path: string,
  opts: { query?: Record<string, string | string[]>; body?: unknown; contentType?: string; decide?: AdapterRequest['decide'] } = {},
): AdapterRequest {
  const raw = opts.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(opts.body));
  return {
    method,
    connection: conn,
    rawPath: path,
    path,
    rawQuery: '',
    query: opts.query ?? {},
    headers: { ...(raw.length > 0 && { 'content-type': opts.contentType ?? 'application/json' }) },
    contentLength: raw.length,
    body: Readable.from(raw.length > 0 ? [raw] : []),
    maxBodyBytes: 1024 * 1024,
    principal: { issuer: 'i', subject: 's', groups: [], claims: {}, ci: { provider: 'generic' }, sessionId: 's', expiresAt: 0 },
    ...(opts.decide && { decide: opts.decide }),
  };
}

const resource = (req: AdapterRequest) => requestInfo(req.method, req.path, req.query) as ResourceRequest;

test('kubernetes classify - protected namespaces are compiled once per connection, at start-up', () => {
  protectedNamespaces.prepare(conn);
  const m = protectedNamespaces.of(conn);
  assert.equal(protectedNamespaces.of(conn), m, 'the same compiled matcher on every request');
  assert.deepEqual(['prod', 'prod-eu', 'production', 'dev'].map(m), [true, true, false, false]);
  assert.deepEqual(kubeOptions(conn).protectedNamespaces, ['prod', 'prod-*', 'team/*']);
});

test('kubernetes classify - the shape stage reads a delete’s options: dry run, propagation, grace period', async () => {
  const req = request('DELETE', '/api/v1/namespaces/prod/pods/p', {
    body: { kind: 'DeleteOptions', dryRun: ['All'], propagationPolicy: 'Foreground', gracePeriodSeconds: 0 },
  });
  const shape = await resourceShape(req, resource(req), kubeOptions(conn));
  assert.deepEqual([shape.verb, shape.dryRun, shape.mutating, shape.stream], ['delete', true, false, false]);
  assert.ok(shape.body, 'the body read is forwarded');
  const attrs = resourceAttributes(req, shape);
  assert.deepEqual([attrs.protectedNamespace, attrs.propagationPolicy, attrs.gracePeriodSeconds, attrs.dryRun], [true, 'Foreground', 0, true]);
});

test('kubernetes classify - exec is a create with its stream attributes and named action', async () => {
  const req = request('GET', '/api/v1/namespaces/dev/pods/p/exec', { query: { command: ['sh', '-c', 'id'], container: 'app', tty: '1', stdin: 'false' } });
  const shape = await resourceShape(req, resource(req), kubeOptions(conn));
  assert.deepEqual([shape.verb, shape.stream], ['create', true]);
  const attrs = resourceAttributes(req, shape);
  assert.deepEqual([attrs.command, attrs.container, attrs.tty, attrs.stdin, attrs.protectedNamespace], [['sh', '-c', 'id'], 'app', true, false, false]);
  assert.deepEqual(namedActions(shape, false, attrs), ['kubernetes.exec']);
  const c = await classifyKube(req);
  assert.equal(c.kind, 'kubernetes.exec');
  assert.deepEqual(
    c.parts?.actions.map((a) => a.kind),
    ['kubernetes.create', 'kubernetes.exec'],
  );
  assert.equal(c.longRunning, true);
});

test('kubernetes classify - named actions: a namespace deletion, RBAC changes (also dry-run), secret reads', async () => {
  const ns = request('DELETE', '/api/v1/namespaces/prod');
  const nsShape = await resourceShape(ns, resource(ns), kubeOptions(conn));
  const attrs: Record<string, unknown> = {};
  assert.deepEqual(namedActions(nsShape, false, attrs), ['kubernetes.namespace_delete']);
  assert.equal(attrs.namespaceDeletion, true);
  const rbac = request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', { query: { dryRun: 'All' } });
  const rbacShape = await resourceShape(rbac, resource(rbac), kubeOptions(conn));
  assert.deepEqual(namedActions(rbacShape, false, {}), ['kubernetes.rbac_change']);
  const list = request('GET', '/api/v1/namespaces/dev/secrets');
  assert.deepEqual(namedActions(await resourceShape(list, resource(list), kubeOptions(conn)), false, {}), ['kubernetes.secret_read']);
  const review = request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { body: { kind: 'SelfSubjectAccessReview' } });
  const c = await classifyKube(review);
  assert.equal(c.kind, 'kubernetes.get', 'a self-review is a read');
  assert.equal(c.attributes.mutating, false);
});

test('kubernetes classify - a scale write is read: zero replicas is a scale to zero, recorded', async () => {
  const c = await classifyKube(
    request('PATCH', '/apis/apps/v1/namespaces/prod-eu/deployments/web', { body: { spec: { replicas: 0 } }, contentType: 'application/merge-patch+json' }),
  );
  assert.equal(c.kind, 'kubernetes.scale_to_zero');
  assert.deepEqual([c.attributes.replicas, c.attributes.scaleToZero, c.attributes.protectedNamespace, c.attributes.patchType], [0, true, true, 'merge']);
  assert.equal(c.audit?.kubernetes?.scale_to_zero, true);
  assert.ok(Buffer.isBuffer(c.body));
  const up = await classifyKube(
    request('PATCH', '/apis/apps/v1/namespaces/dev/deployments/web', { body: { spec: { replicas: 3 } }, contentType: 'application/merge-patch+json' }),
  );
  assert.deepEqual([up.kind, up.attributes.replicas, up.attributes.scaleToZero], ['kubernetes.patch', 3, false]);
});

test('kubernetes classify - Secret values in clear only when a rule names the clear-read action', async () => {
  const asked: string[] = [];
  const decide: AdapterRequest['decide'] = (a) => {
    asked.push(a.kind);
    return { effect: 'allow', rule: 'clear-secrets', reason: 'ok' };
  };
  const c = await classifyKube(request('GET', '/api/v1/namespaces/dev/secrets/s', { decide }));
  assert.deepEqual(asked, ['kubernetes.secret_read.clear']);
  assert.equal(c.attributes.secretsInClear, true);
  const byDefault = await classifyKube(
    request('GET', '/api/v1/namespaces/dev/secrets/s', { decide: () => ({ effect: 'allow', rule: null, reason: 'default' }) }),
  );
  assert.equal(byDefault.attributes.secretsInClear, false);
});
