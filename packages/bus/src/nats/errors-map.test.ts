import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startNats } from '@agentgate/testkit';
import { AckPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { BusError } from '../errors.js';
import { JS_API, busCodeOf, jsApiCode, mapNatsError } from './errors-map.js';

type Nats = Awaited<ReturnType<typeof startNats>>;
let server: Nats;
let nc: NatsConnection;
before(async () => {
  server = await startNats();
  nc = await connect({ servers: server.url });
});
after(async () => {
  await nc?.close();
  await server?.close();
});

/** What the real client threw for `f` (fails the test if it resolved). */
async function thrown(f: () => Promise<unknown>): Promise<unknown> {
  try {
    await f();
  } catch (err) {
    return err;
  }
  assert.fail('expected the call to fail');
}

const apiError = (err_code: number, description: string, code = 400): JetStreamApiError => new JetStreamApiError({ code, err_code, description });

test('nats errors - a full stream (max_msgs, max_bytes: 10077), an oversized message (10054), no storage (10047) are ERR_STREAM_FULL', async () => {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: 'EM_MSGS', subjects: ['em.msgs.>'], max_msgs: 1, discard: DiscardPolicy.New });
  await js.publish('em.msgs.a', 'x');
  const full = await thrown(() => js.publish('em.msgs.a', 'y'));
  assert.equal(jsApiCode(full), JS_API.STORE_FAILED);
  await jsm.streams.add({ name: 'EM_BYTES', subjects: ['em.bytes.>'], max_bytes: 200, discard: DiscardPolicy.New });
  await js.publish('em.bytes.a', 'x'.repeat(100));
  const bytes = await thrown(() => js.publish('em.bytes.a', 'x'.repeat(150)));
  await jsm.streams.add({ name: 'EM_SIZE', subjects: ['em.size.>'], max_msg_size: 10 });
  const size = await thrown(() => js.publish('em.size.a', 'x'.repeat(100)));
  assert.equal(jsApiCode(size), JS_API.MESSAGE_TOO_BIG);
  const storage = await thrown(() => jsm.streams.add({ name: 'EM_HUGE', subjects: ['em.huge.>'], max_bytes: 2 ** 60 }));
  assert.equal(jsApiCode(storage), JS_API.STORAGE_EXCEEDED);
  for (const err of [
    full,
    bytes,
    size,
    storage,
    apiError(JS_API.INSUFFICIENT_RESOURCES, 'insufficient resources', 503),
    apiError(JS_API.MEMORY_EXCEEDED, 'x', 500),
  ]) {
    assert.equal(mapNatsError(err, 'publish').code, 'ERR_STREAM_FULL', String(err));
  }
});

test('nats errors - a missing stream (10059) is ERR_STREAM_NOT_FOUND; a wrong last sequence (10071, 10164) is ERR_KV_WRONG_REVISION', async () => {
  const jsm = await jetstreamManager(nc);
  const missing = await thrown(() => jsm.streams.info('EM_NOPE'));
  assert.equal(jsApiCode(missing), JS_API.STREAM_NOT_FOUND);
  assert.equal(mapNatsError(missing, 'info').code, 'ERR_STREAM_NOT_FOUND');
  const kv = await new Kvm(nc).create('em_kv');
  const r1 = await kv.create('k', 'v');
  const exists = await thrown(() => kv.create('k', 'again'));
  await kv.put('k', 'v2');
  const stale = await thrown(() => kv.update('k', 'v3', r1));
  for (const err of [exists, stale, apiError(JS_API.WRONG_LAST_SEQUENCE_UNKNOWN, 'wrong last sequence unknown')]) {
    assert.equal(mapNatsError(err, 'kv').code, 'ERR_KV_WRONG_REVISION');
  }
  assert.equal(jsApiCode(exists), JS_API.WRONG_LAST_SEQUENCE);
});

test('nats errors - work-queue consumer conflicts (10099, 10100, 10101) are ERR_CONSUMER_CONFLICT', async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'EM_WQ', subjects: ['em.wq.>'], retention: RetentionPolicy.Workqueue });
  await jsm.consumers.add('EM_WQ', { durable_name: 'a', ack_policy: AckPolicy.Explicit, filter_subject: 'em.wq.a.>' });
  const overlap = await thrown(() => jsm.consumers.add('EM_WQ', { durable_name: 'c', ack_policy: AckPolicy.Explicit, filter_subject: 'em.wq.*.x' }));
  const unfiltered = await thrown(() => jsm.consumers.add('EM_WQ', { durable_name: 'd', ack_policy: AckPolicy.Explicit }));
  assert.deepEqual([jsApiCode(overlap), jsApiCode(unfiltered)], [JS_API.WQ_NOT_UNIQUE, JS_API.WQ_MULTIPLE_UNFILTERED]);
  for (const err of [overlap, unfiltered, apiError(JS_API.WQ_NOT_DELIVER_ALL, 'consumer must be deliver all on workqueue stream')]) {
    assert.equal(mapNatsError(err, 'consumer').code, 'ERR_CONSUMER_CONFLICT');
  }
});

test('nats errors - no responder (request, or a JetStream publish no stream captures), JetStream off (10039, 10076) and a timeout', async () => {
  const noResponder = await thrown(() => nc.request(`em.nobody.${Date.now()}`, 'x', { timeout: 1000 }));
  const noStream = await thrown(() => jetstream(nc).publish('em.nostream.a', 'x', { timeout: 2000 }));
  for (const err of [
    noResponder,
    noStream,
    apiError(JS_API.NOT_ENABLED_FOR_ACCOUNT, 'jetstream not enabled for account', 503),
    apiError(JS_API.NOT_ENABLED, 'jetstream not enabled', 503),
  ]) {
    assert.equal(mapNatsError(err, 'request').code, 'ERR_BUS_NO_RESPONDER', String(err));
  }
  const sub = nc.subscribe('em.slow', { callback: () => undefined });
  const timeout = await thrown(() => nc.request('em.slow', 'x', { timeout: 100 }));
  sub.unsubscribe();
  assert.equal(mapNatsError(timeout, 'request').code, 'ERR_BUS_TIMEOUT');
});

test('nats errors - a closed connection is ERR_BUS_UNAVAILABLE', async () => {
  const other = await connect({ servers: server.url });
  await other.close();
  const closed = await thrown(() => other.request('em.x', 'x'));
  const closedPublish = await thrown(() => jetstream(other).publish('em.msgs.a', 'x'));
  for (const err of [closed, closedPublish]) assert.equal(mapNatsError(err, 'publish').code, 'ERR_BUS_UNAVAILABLE', String(err));
});

test('nats errors - the message text decides nothing: foreign errors and unknown API codes are ERR_STREAM_PUBLISH, a BusError passes through', () => {
  // Texts the old regex classifier matched: a plain Error carrying them is not a nats.js error of that kind.
  for (const text of ['timeout', 'no responders', 'maximum messages exceeded', 'stream not found', 'wrong last sequence: 1', 'connection closed']) {
    assert.equal(busCodeOf(new Error(text)), 'ERR_STREAM_PUBLISH', text);
  }
  assert.equal(busCodeOf(apiError(10999, 'stream not found')), 'ERR_STREAM_PUBLISH');
  assert.equal(busCodeOf('a string'), 'ERR_STREAM_PUBLISH');
  const own = new BusError('ERR_KV_EXISTS', 'exists');
  assert.equal(mapNatsError(own, 'x'), own);
  const mapped = mapNatsError(apiError(JS_API.STREAM_NOT_FOUND, 'stream not found', 404), 'stream info S');
  assert.equal(mapped.message, 'stream info S: stream not found');
  assert.ok(mapped.cause instanceof JetStreamApiError, 'the raw error stays as the cause');
});
