import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDigest, isRepositoryName, parseRegistryPath } from './names.js';

const D = `sha256:${'a'.repeat(64)}`;

test('registry names - the routes of the distribution API, the last marker winning', () => {
  assert.deepEqual(parseRegistryPath('acme/app/manifests/1.2'), { target: 'manifest', repository: 'acme/app', tag: '1.2' });
  assert.deepEqual(parseRegistryPath(`acme/app/manifests/${D}`), { target: 'manifest', repository: 'acme/app', digest: D });
  assert.deepEqual(parseRegistryPath(`a/blobs/b/blobs/${D}`), { target: 'blob', repository: 'a/blobs/b', digest: D });
  assert.deepEqual(parseRegistryPath('acme/app/blobs/uploads/'), { target: 'upload', repository: 'acme/app' });
  assert.deepEqual(parseRegistryPath('acme/app/blobs/uploads'), { target: 'upload', repository: 'acme/app' });
  assert.deepEqual(parseRegistryPath('acme/app/blobs/uploads/1f0e-aa'), { target: 'upload', repository: 'acme/app', upload: '1f0e-aa' });
  assert.deepEqual(parseRegistryPath('x/manifests/y/tags/list'), { target: 'tags', repository: 'x/manifests/y' });
});

test('registry names - malformed names, tags, digests and routes are refused with a code', () => {
  const code = (p: string): string => {
    try {
      parseRegistryPath(p);
      return 'accepted';
    } catch (err) {
      return (err as { code: string }).code;
    }
  };
  assert.equal(code('ACME/app/manifests/1'), 'ERR_BAD_REQUEST');
  assert.equal(code('acme//app/manifests/1'), 'ERR_BAD_REQUEST');
  assert.equal(code('acme/app/manifests/-x'), 'ERR_BAD_REQUEST');
  assert.equal(code(`acme/app/manifests/${'t'.repeat(129)}`), 'ERR_BAD_REQUEST');
  assert.equal(code('acme/app/blobs/sha256:abc'), 'ERR_BAD_REQUEST');
  assert.equal(code('acme/app/blobs/uploads/a b'), 'ERR_BAD_REQUEST');
  assert.equal(code(`${'a/'.repeat(130)}x/manifests/1`), 'ERR_BAD_REQUEST');
  assert.equal(code('acme/app/referrers/x'), 'ERR_NOT_FOUND');
  assert.equal(code('_catalog'), 'ERR_NOT_FOUND');
  assert.ok(isRepositoryName('a-b__c.d/e_f'));
  assert.ok(!isRepositoryName('a_-b'));
  assert.ok(isDigest(D) && !isDigest(`sha256:${'A'.repeat(64)}`) && isDigest(`sha512:${'f'.repeat(128)}`));
});
