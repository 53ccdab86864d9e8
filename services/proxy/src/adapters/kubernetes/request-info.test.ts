import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestInfo } from './request-info.js';

const r = (method: string, path: string, query: Record<string, string | string[]> = {}) => requestInfo(method, path, query);

test('kubernetes request-info - verbs as the API server resolves them', () => {
  assert.deepEqual(r('GET', '/api/v1/namespaces/dev/pods'), {
    type: 'resource',
    verb: 'list',
    group: '',
    version: 'v1',
    resource: 'pods',
    subresource: '',
    namespace: 'dev',
    name: '',
    rest: '',
  });
  assert.equal((r('GET', '/api/v1/namespaces/dev/pods/web') as { verb: string }).verb, 'get');
  assert.equal((r('GET', '/api/v1/namespaces/dev/pods', { watch: 'true' }) as { verb: string }).verb, 'watch');
  assert.equal((r('GET', '/api/v1/namespaces/dev/pods', { watch: '1' }) as { verb: string }).verb, 'watch');
  assert.equal((r('GET', '/api/v1/watch/namespaces/dev/pods') as { verb: string }).verb, 'watch');
  assert.equal((r('POST', '/apis/apps/v1/namespaces/dev/deployments') as { verb: string }).verb, 'create');
  assert.equal((r('PUT', '/apis/apps/v1/namespaces/dev/deployments/web') as { verb: string }).verb, 'update');
  assert.equal((r('PATCH', '/apis/apps/v1/namespaces/dev/deployments/web/scale') as { verb: string; subresource: string }).subresource, 'scale');
  assert.equal((r('DELETE', '/apis/apps/v1/namespaces/dev/deployments') as { verb: string }).verb, 'deletecollection');
  assert.equal((r('DELETE', '/apis/apps/v1/namespaces/dev/deployments/web') as { verb: string }).verb, 'delete');
});

test('kubernetes request-info - namespaces, cluster scope and subresources', () => {
  const ns = r('DELETE', '/api/v1/namespaces/prod');
  assert.equal(ns.type, 'resource');
  if (ns.type === 'resource') {
    assert.equal(ns.resource, 'namespaces');
    assert.equal(ns.name, 'prod');
    // The namespace object is in itself: `attrs.namespace == 'prod'` covers deleting it.
    assert.equal(ns.namespace, 'prod');
  }
  const fin = r('PUT', '/api/v1/namespaces/prod/finalize');
  if (fin.type === 'resource') assert.deepEqual([fin.resource, fin.name, fin.subresource], ['namespaces', 'prod', 'finalize']);
  const crb = r('GET', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:controller:x');
  if (crb.type === 'resource')
    assert.deepEqual([crb.group, crb.resource, crb.name, crb.namespace], ['rbac.authorization.k8s.io', 'clusterrolebindings', 'system:controller:x', '']);
  const proxy = r('GET', '/api/v1/namespaces/dev/services/web/proxy/healthz/deep');
  if (proxy.type === 'resource') assert.deepEqual([proxy.subresource, proxy.rest], ['proxy', 'healthz/deep']);
  const byField = r('GET', '/api/v1/namespaces/dev/pods', { watch: 'true', fieldSelector: 'metadata.name=web' });
  if (byField.type === 'resource') assert.deepEqual([byField.verb, byField.name], ['watch', 'web']);
  assert.equal(r('GET', '/api/v1/pods/').type, 'resource');
});

test('kubernetes request-info - discovery, OpenAPI, health and other paths', () => {
  for (const p of ['/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/version']) assert.equal(r('GET', p).type, 'discovery', p);
  assert.equal(r('GET', '/openapi/v3/apis/apps/v1').type, 'openapi');
  assert.equal(r('GET', '/openapi/v2').type, 'openapi');
  assert.equal(r('GET', '/readyz/etcd').type, 'health');
  assert.equal(r('GET', '/metrics').type, 'nonresource');
  assert.equal(r('GET', '/').type, 'nonresource');
});

test('kubernetes request-info - malformed paths are refused with ERR_KUBE_BAD_PATH', () => {
  for (const p of [
    '/api/v1/namespaces//pods',
    '/api/v1/namespaces/UPPER/pods',
    '/api/1/pods',
    '/apis/apps/v1beta/deployments',
    '/apis/Apps/v1/deployments',
    '/api/v1/Pods',
    '/api/v1/namespaces/dev/pods/a b',
    '/api/v1/watch',
    `/api/v1/namespaces/${'a'.repeat(64)}/pods`,
  ]) {
    assert.throws(() => r('GET', p), { code: 'ERR_KUBE_BAD_PATH' }, p);
  }
  assert.throws(() => r('OPTIONS', '/api/v1/pods'), { code: 'ERR_KUBE_BAD_METHOD' });
});
