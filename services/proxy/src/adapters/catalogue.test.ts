import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { CONNECTION_TYPES, loadConfig } from '@agentgate/config';
import { createMasker } from '@agentgate/masking';
import { catalogueKinds } from '@agentgate/policy';
import { ACTION_CATALOGUE } from './catalogue.js';
import { AUDIT_KIND } from './git/classify-refs.js';
import { gitAdapter } from './git/index.js';
import { httpAdapter } from './http/index.js';
import { kubernetesAdapter } from './kubernetes/index.js';
import { adapterFor } from './index.js';
import { llmAdapter } from './llm/index.js';
import { exchangeAttributes } from './llm/request.js';
import { MCP_METHOD_KINDS, messageAction } from './mcp/actions.js';
import { mcpAdapter } from './mcp/index.js';
import { toMessage } from './mcp/jsonrpc.js';
import type { RegistryKind } from './registry/classify.js';
import type { AdapterRequest, Connection } from './types.js';

/** Connections through the schema, so their defaults follow it. */
const connections = loadConfig({
  path: 'catalogue-test.yaml',
  env: {},
  text: [
    'connections:',
    '  - { name: gh, type: git, upstream: https://git.example }',
    '  - { name: api, type: http, upstream: https://api.example }',
    '  - { name: ai, type: llm, upstream: https://llm.example, options: { provider: openai } }',
    '  - { name: tools, type: mcp, upstream: https://mcp.example/mcp }',
    '  - { name: k8s, type: kubernetes, upstream: https://kube.example, options: { protectedNamespaces: [prod] } }',
    '',
  ].join('\n'),
}).connections;
const conn = (name: string) => connections.find((c) => c.name === name) as Connection;

const entry = (type: string) => ACTION_CATALOGUE.find((a) => a.type === type)!;
const attrsOf = (type: string, kind: string) => Object.keys(entry(type).kinds.find((k) => k.kind === kind)!.attrs).sort();

function request(over: Partial<AdapterRequest> & { connection: Connection }): AdapterRequest {
  return {
    method: 'GET',
    rawPath: '/',
    path: '/',
    rawQuery: '',
    query: {},
    headers: {},
    contentLength: undefined,
    body: Readable.from([]),
    maxBodyBytes: 1024,
    principal: { issuer: 'i', subject: 's', groups: [], claims: {}, ci: { provider: 'generic' }, sessionId: 's', expiresAt: 0 },
    ...over,
  };
}

test('catalogue - every connection type with an adapter has one catalogue entry, and no entry lacks an adapter', () => {
  const types = ACTION_CATALOGUE.map((a) => a.type);
  assert.equal(new Set(types).size, types.length, 'one entry per adapter');
  for (const t of CONNECTION_TYPES) assert.equal(types.includes(t), adapterFor(t) !== undefined, `connection type ${t}`);
});

test('catalogue - the git entry lists exactly the kinds the git adapter classifies, and the attributes of a fetch', async () => {
  const kinds = entry('git')
    .kinds.map((k) => k.kind)
    .sort();
  assert.deepEqual(kinds, ['git.fetch', ...Object.keys(AUDIT_KIND)].sort());
  const c = await gitAdapter.classify(
    request({ connection: conn('gh'), rawPath: '/acme/app.git/info/refs', path: '/acme/app.git/info/refs', query: { service: 'git-upload-pack' } }),
  );
  assert.equal(c.kind, 'git.fetch');
  assert.deepEqual(Object.keys(c.attributes).sort(), attrsOf('git', 'git.fetch'));
  assert.deepEqual(entry('git').optionAttrs, { protectedRefs: 'protected' });
});

test('catalogue - http.<method> covers the methods node accepts, with the attributes the http adapter gives', async () => {
  const c = await httpAdapter.classify(
    request({
      connection: conn('api'),
      method: 'PATCH',
      path: '/repos/x',
      rawPath: '/repos/x',
      query: { a: '1' },
      headers: { 'content-type': 'application/json' },
      contentLength: 2,
    }),
  );
  const k = entry('http').kinds[0]!;
  assert.ok(k.values?.includes(c.kind), c.kind);
  assert.ok(k.values?.includes('http.get') && k.values.includes('http.delete'));
  assert.deepEqual(Object.keys(c.attributes).sort(), attrsOf('http', 'http.<method>'));
});

test('catalogue - the llm entry has the attributes of an exchange and of a plain request', async () => {
  const ex = exchangeAttributes('chat.completions', 'openai', { model: 'm', max_tokens: 5, stream: true, tools: [], messages: [] });
  assert.deepEqual(Object.keys(ex).sort(), attrsOf('llm', 'llm.exchange'));
  const c = await llmAdapter.classify(request({ connection: conn('ai'), path: '/v1/models', rawPath: '/v1/models' }));
  assert.equal(c.kind, 'llm.request');
  for (const a of Object.keys(c.attributes)) assert.ok(attrsOf('llm', 'llm.request').includes(a), a);
});

test("catalogue - the registry entry lists the registry adapter's kinds", () => {
  // Typed as RegistryKind: a kind the adapter no longer has fails the typecheck.
  const kinds: RegistryKind[] = ['registry.pull', 'registry.push', 'registry.tag_overwrite', 'registry.delete', 'registry.catalog'];
  assert.deepEqual(
    entry('registry')
      .kinds.map((k) => k.kind)
      .sort(),
    [...kinds].sort(),
  );
  const all = new Set(entry('registry').kinds.flatMap((k) => Object.keys(k.attrs)));
  for (const a of ['repository', 'target', 'operation', 'tag', 'digest', 'mediaType', 'size', 'tagExisted', 'previousDigest', 'mountFrom', 'layers'])
    assert.ok(all.has(a), a);
});

test('catalogue - the mcp entry lists every kind the mcp adapter classifies, each with exactly the attributes it gives', async () => {
  const masker = createMasker();
  // Params that would fill every attribute any method reads: each kind keeps only its own.
  const params = { name: 'n', arguments: { a: 1 }, uri: 'file:///a', clientInfo: { name: 'c' } };
  const seen = new Map<string, string[]>();
  for (const method of [...Object.keys(MCP_METHOD_KINDS), 'sampling/anything']) {
    const a = messageAction(toMessage({ jsonrpc: '2.0', id: 1, method, params }), masker);
    seen.set(a.kind, Object.keys(a.attributes).sort());
  }
  const note = messageAction(toMessage({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } }), masker);
  seen.set(note.kind, Object.keys(note.attributes).sort());
  const answer = messageAction(toMessage({ jsonrpc: '2.0', id: 7, result: {} }), masker);
  seen.set(answer.kind, Object.keys(answer.attributes).sort());
  for (const method of ['GET', 'DELETE']) {
    const c = await mcpAdapter.classify(request({ connection: conn('tools'), method }));
    seen.set(c.kind, Object.keys(c.attributes).sort());
  }
  assert.deepEqual(
    entry('mcp')
      .kinds.map((k) => k.kind)
      .sort(),
    [...seen.keys()].sort(),
  );
  for (const [kind, attrs] of seen) assert.deepEqual(attrsOf('mcp', kind), attrs, kind);
});

test('catalogue - the kubernetes entry lists every kind the kubernetes adapter classifies, with the attributes it gives', async () => {
  const kube = (method: string, path: string, query: Record<string, string> = {}, body?: string, contentType?: string) => {
    const buf = body === undefined ? undefined : Buffer.from(body);
    return kubernetesAdapter.classify(
      request({
        connection: conn('k8s'),
        method,
        path,
        rawPath: path,
        query,
        headers: contentType ? { 'content-type': contentType } : {},
        contentLength: buf?.length,
        body: Readable.from(buf ? [buf] : []),
        decide: () => ({ effect: 'deny', rule: null, reason: 'default' }),
      }),
    );
  };
  const cases = await Promise.all([
    kube('GET', '/api'),
    kube('POST', '/logs/x'),
    kube('GET', '/api/v1/namespaces/prod/pods', { labelSelector: 'a=b' }),
    kube('GET', '/api/v1/namespaces/prod/pods', { watch: 'true' }),
    kube('GET', '/api/v1/namespaces/prod/secrets/s'),
    kube('POST', '/apis/apps/v1/namespaces/prod/deployments', { fieldManager: 'kubectl' }, '{}', 'application/json'),
    kube('PUT', '/apis/apps/v1/namespaces/prod/deployments/d/scale', {}, '{"spec":{"replicas":0}}', 'application/json'),
    kube(
      'PATCH',
      '/apis/apps/v1/namespaces/prod/deployments/d',
      { fieldManager: 'm', force: 'true' },
      '{"spec":{"replicas":2}}',
      'application/apply-patch+yaml',
    ),
    kube('DELETE', '/api/v1/namespaces/prod', {}, '{"propagationPolicy":"Foreground","gracePeriodSeconds":0}', 'application/json'),
    kube('DELETE', '/api/v1/namespaces/prod/pods'),
    kube('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {}, '{}', 'application/json'),
    kube('POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', {}, '{}', 'application/json'),
    kube('GET', '/api/v1/namespaces/prod/pods/p/exec', { container: 'c', command: 'sh', stdin: 'true', tty: 'true' }),
    kube('GET', '/api/v1/namespaces/prod/pods/p/attach', { container: 'c' }),
    kube('GET', '/api/v1/namespaces/prod/pods/p/portforward', { ports: '8080' }),
    kube('GET', '/api/v1/proxy/namespaces/prod/services/s'),
    kube('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {}, '{}', 'application/json'),
  ]);
  const listed = new Map(
    catalogueKinds(ACTION_CATALOGUE)
      .filter((k) => k.type === 'kubernetes')
      .map((k) => [k.kind, k.attrs]),
  );
  const seen = new Set<string>();
  for (const c of cases) {
    for (const part of c.parts?.actions ?? [{ kind: c.kind, attributes: c.attributes }]) {
      seen.add(part.kind);
      const attrs = listed.get(part.kind);
      assert.ok(attrs, `${part.kind} is in the catalogue`);
      for (const a of Object.keys(part.attributes)) assert.ok(attrs.has(a), `${part.kind}: attrs.${a} is in the catalogue`);
    }
  }
  seen.add('kubernetes.secret_read.clear'); // asked through decide(), not a part
  for (const kind of ['kubernetes.update', 'kubernetes.deletecollection']) seen.add(kind);
  assert.deepEqual(
    [...listed.keys()].filter((k) => !seen.has(k)),
    [],
    'every listed kind is one the adapter gives',
  );
  assert.deepEqual(entry('kubernetes').optionAttrs, { protectedNamespaces: 'protectedNamespace' });
});
