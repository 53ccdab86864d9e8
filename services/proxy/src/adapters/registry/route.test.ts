import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Connection } from '../types.js';
import { registryRoute } from './route.js';

const conn = (name: string, type: Connection['type']) => [name, { name, type, upstream: 'http://u' } as Connection] as const;
const conns = new Map([conn('hub', 'registry'), conn('api', 'http')]);

test('registry route - /v2/<connection>/… goes to the connection with the upstream path, the root is the gateway own', () => {
  assert.deepEqual(registryRoute('/v2/', conns), { root: { what: 'ping' } });
  assert.deepEqual(registryRoute('/v2', conns), { root: { what: 'ping' } });
  assert.deepEqual(registryRoute('/v2/_catalog?n=10', conns), { root: { what: 'catalog' } });
  assert.deepEqual(registryRoute('/v2/api/x/manifests/1', conns), { root: { what: 'unknown' } });
  assert.deepEqual(registryRoute('/v2/nope/x/manifests/1', conns), { root: { what: 'unknown' } });
  const r = registryRoute('/v2/hub/acme/app/manifests/1.2?x=1', conns);
  assert.equal(r?.target?.connection, 'hub');
  assert.equal(r?.target?.rawPath, '/v2/acme/app/manifests/1.2');
  assert.equal(r?.target?.path, '/v2/acme/app/manifests/1.2');
  assert.equal(r?.target?.rawQuery, '?x=1');
  assert.equal(registryRoute('/hub/v2/x', conns), undefined);
  assert.equal(registryRoute('/v2x/y', conns), undefined);
  // A connection named v2 keeps its plain routing for names that are no registry connection.
  assert.equal(registryRoute('/v2/other/path', new Map([...conns, conn('v2', 'http')])), undefined);
});

test('registry route - a mount source is renamed into the upstream namespace, or dropped when on another connection', () => {
  const same = registryRoute(`/v2/hub/acme/app/blobs/uploads/?mount=sha256:${'a'.repeat(64)}&from=hub/acme/base`, conns);
  assert.equal(same?.target?.query.from, 'acme/base');
  assert.match(String(same?.target?.rawQuery), /from=acme%2Fbase/);
  const other = registryRoute(`/v2/hub/acme/app/blobs/uploads/?mount=sha256:${'a'.repeat(64)}&from=other/acme/base`, conns);
  assert.equal(other?.target?.rawQuery, '');
  assert.deepEqual(other?.target?.query, {});
});

test('registry route - traversal and encoded separators are refused like any target', () => {
  for (const bad of ['/v2/hub/../api/x', '/v2/hub/acme%2fapp/manifests/1', '/v2/hub/%2e%2e/x']) {
    assert.throws(
      () => registryRoute(bad, conns),
      (e: { code?: string }) => e.code === 'ERR_PATH_TRAVERSAL',
      bad,
    );
  }
});
