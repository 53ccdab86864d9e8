import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { createMasker } from '@agentgate/masking';
import { SECRET_PLACEHOLDER } from './mask-objects.js';
import { observeKube, type ObserveSpec } from './response.js';

const JSON_HEAD = { status: 200, headers: { 'content-type': 'application/json' } };
const b64 = (s: string) => Buffer.from(s).toString('base64');
const VALUE = 'hunter2-very-secret-value';

function spec(mode: ObserveSpec['mode'], watch = false, extra: Partial<ObserveSpec> = {}): ObserveSpec {
  return { mode, watch, detectors: createMasker(), maxObjectBytes: 1 << 20, connection: 'k', audit: { verb: 'get' }, ...extra };
}

async function run(s: ObserveSpec, chunks: Array<string | Buffer>, head = JSON_HEAD): Promise<{ out: string; obs: ReturnType<typeof observeKube> }> {
  const obs = observeKube(s, head);
  assert.ok(obs);
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks.map((c) => Buffer.from(c))), obs.transform, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return { out: Buffer.concat(out).toString(), obs };
}

const secret = (name: string) => ({
  kind: 'Secret',
  apiVersion: 'v1',
  metadata: { name, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ kind: 'Secret', data: { password: b64(VALUE) } }) } },
  data: { password: b64(VALUE), user: b64('admin') },
  type: 'Opaque',
});

test('kubernetes response - a Secret (and a SecretList, whose items carry no kind) has every value masked, keys kept', async () => {
  const { out, obs } = await run(spec('secret'), [JSON.stringify(secret('db')).slice(0, 40), JSON.stringify(secret('db')).slice(40)]);
  const doc = JSON.parse(out);
  assert.deepEqual(Object.keys(doc.data), ['password', 'user']);
  assert.equal(Buffer.from(doc.data.password, 'base64').toString(), SECRET_PLACEHOLDER);
  assert.ok(!out.includes(b64(VALUE)) && !out.includes(VALUE), 'the value and its base64 never leave');
  // password and user, and the password inside the client-side-apply annotation.
  assert.equal(obs?.finish().kubernetes?.masked_values, 3);
  const items = [secret('a'), secret('b')].map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
  const list = await run(spec('secret'), [JSON.stringify({ kind: 'SecretList', apiVersion: 'v1', metadata: {}, items })]);
  assert.ok(!list.out.includes(b64(VALUE)));
  assert.equal(JSON.parse(list.out).items.length, 2);
});

test('kubernetes response - a Secret watch is masked event by event, whatever the chunking', async () => {
  const events = [0, 1, 2].map((i) => `${JSON.stringify({ type: 'ADDED', object: secret(`s${i}`) })}\n`).join('');
  const chunks: string[] = [];
  for (let i = 0; i < events.length; i += 7) chunks.push(events.slice(i, i + 7));
  const { out } = await run(spec('secret', true), chunks);
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  assert.deepEqual(
    lines.map((e) => e.object.metadata.name),
    ['s0', 's1', 's2'],
  );
  assert.ok(!out.includes(b64(VALUE)));
});

test('kubernetes response - a watch event is sent as soon as its line is complete (no buffering of the stream)', async () => {
  const obs = observeKube(spec('secret', true), JSON_HEAD);
  assert.ok(obs);
  const got: string[] = [];
  obs.transform.on('data', (c: Buffer) => got.push(c.toString()));
  obs.transform.write(`${JSON.stringify({ type: 'ADDED', object: secret('first') })}\n{"type":"ADD`);
  await new Promise((r) => setImmediate(r));
  assert.equal(got.length, 1);
  assert.ok(got[0]?.includes('"first"'));
  obs.transform.destroy();
});

test('kubernetes response - oversized objects and non-JSON Secret answers fail closed', async () => {
  await assert.rejects(run(spec('secret', false, { maxObjectBytes: 100 }), [JSON.stringify(secret('big'))]), { code: 'ERR_UPSTREAM_TOO_LARGE' });
  await assert.rejects(run(spec('secret', true, { maxObjectBytes: 100 }), [JSON.stringify(secret('big'))]), { code: 'ERR_UPSTREAM_TOO_LARGE' });
  assert.throws(() => observeKube(spec('secret'), { status: 200, headers: { 'content-type': 'application/vnd.kubernetes.protobuf' } }), {
    code: 'ERR_UPSTREAM_MEDIA_TYPE',
  });
  await assert.rejects(run(spec('secret', true), ['{"type":"ADDED","object":{"data":{"a":"b"}}\nnot json\n']), { code: 'ERR_UPSTREAM_MEDIA_TYPE' });
});

test('kubernetes response - ConfigMaps and Events go through the detectors', async () => {
  const ghp = `ghp_${'A1b2C3d4E5'.repeat(3)}123456`;
  const cm = { kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'app.conf': `token=${ghp}\nmode=prod`, password: 'plain-pass-1', mode: 'prod' } };
  const { out, obs } = await run(spec('configmap'), [JSON.stringify(cm)]);
  const doc = JSON.parse(out);
  assert.ok(!out.includes(ghp), 'a GitHub token in a ConfigMap is masked');
  assert.equal(doc.data.mode, 'prod', 'ordinary values are left alone');
  assert.notEqual(doc.data.password, 'plain-pass-1', 'a sensitive key is masked whole');
  assert.ok((obs?.findings?.() ?? []).length > 0);
  const ev = { kind: 'Event', metadata: { name: 'e' }, message: `pulled with ${ghp}`, reason: 'Pulled' };
  const e = await run(spec('event'), [JSON.stringify(ev)]);
  assert.ok(!e.out.includes(ghp));
  assert.equal(JSON.parse(e.out).reason, 'Pulled');
});

test('kubernetes response - an error Status is read for its reason, other answers are not observed', async () => {
  assert.equal(observeKube(spec(undefined), JSON_HEAD), undefined);
  const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 };
  const { out, obs } = await run(spec(undefined), [JSON.stringify(status)], { status: 404, headers: { 'content-type': 'application/json' } });
  assert.equal(out, JSON.stringify(status));
  assert.equal(obs?.finish().kubernetes?.status_reason, 'NotFound');
});

test('kubernetes response - pod logs (text) go through the detectors as they stream', async () => {
  const ghp = `ghp_${'Z9y8X7w6V5'.repeat(3)}654321`;
  const { out, obs } = await run(spec('log'), ['2026-11-30 starting\n', `token=${ghp.slice(0, 10)}`, `${ghp.slice(10)}\nready\n`], {
    status: 200,
    headers: { 'content-type': 'text/plain' },
  });
  assert.ok(!out.includes(ghp), 'a token split across chunks is masked');
  assert.match(out, /starting\n[\s\S]*ready\n$/);
  assert.ok((obs?.findings?.() ?? []).length > 0);
});
