import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AdapterRequest, Classification, Connection } from '../types.js';
import { rewriteHead } from './response-head.js';

const connection = { name: 'hub', type: 'registry', upstream: 'https://registry.internal:5000/base' } as Connection;
const req = { connection, rawPath: '/v2/acme/app/blobs/uploads/', method: 'POST' } as AdapterRequest;
const push: Classification = { kind: 'registry.push', attributes: { operation: 'upload-start' }, audit: { registry: { repository: 'acme/app' } } };

test('registry response head - Location and Link come back in the gateway URL space, without host or userinfo', () => {
  const out = rewriteHead(req, push, {
    status: 202,
    headers: {
      location: 'https://user:secret@registry.internal:5000/base/v2/acme/app/blobs/uploads/u1?_state=s',
      link: '</base/v2/acme/app/tags/list?last=a&n=1>; rel="next", <https://cdn.example/x>; rel="other"',
      'www-authenticate': 'Bearer realm="https://registry.internal/token"',
    },
  });
  assert.equal(out.headers.location, '/v2/hub/acme/app/blobs/uploads/u1?_state=s');
  assert.equal(out.headers.link, '</v2/hub/acme/app/tags/list?last=a&n=1>; rel="next"');
  assert.equal(out.headers['www-authenticate'], undefined, "the upstream's challenge never reaches the client");
  assert.equal(out.headers['docker-distribution-api-version'], 'registry/2.0');
  const relative = rewriteHead(req, push, { status: 202, headers: { location: '/base/v2/acme/app/blobs/uploads/u2' } });
  assert.equal(relative.headers.location, '/v2/hub/acme/app/blobs/uploads/u2');
});

test('registry response head - a Location on another host, scheme or outside the API is refused', () => {
  for (const location of [
    'https://storage.example/bucket/blob',
    'http://registry.internal:5000/base/v2/acme/app/blobs/uploads/u',
    'https://registry.internal:5000/other/v2/x',
    '//evil.example/v2/x',
  ]) {
    assert.throws(
      () => rewriteHead(req, push, { status: 202, headers: { location } }),
      (e: { code?: string }) => e.code === 'ERR_UPSTREAM_FAILED',
      location,
    );
  }
});

test('registry response head - a pull records the digest, media type and size the upstream served', () => {
  const pull: Classification = {
    kind: 'registry.pull',
    attributes: { operation: 'read', target: 'manifest' },
    audit: { registry: { repository: 'acme/app', tag: '1' } },
  };
  const d = `sha256:${'b'.repeat(64)}`;
  const out = rewriteHead(req, pull, {
    status: 200,
    headers: { 'docker-content-digest': d, 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': '512' },
  });
  assert.deepEqual(out.audit?.registry, { repository: 'acme/app', tag: '1', digest: d, media_type: 'application/vnd.oci.image.manifest.v1+json', size: 512 });
});
