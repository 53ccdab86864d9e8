import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type NatsServer, startNats } from '@agentgate/testkit';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { busCodeOf } from './errors-map.js';
import { withResponders } from './responders.js';

let server: NatsServer;
let nc: NatsConnection;

before(async () => {
  server = await startNats();
  nc = await connect({ servers: server.url });
});

after(async () => {
  await nc?.close();
  await server?.close();
});

test('withResponders - a request whose responder appears within the grace is answered, once', async () => {
  let calls = 0;
  const late = setTimeout(
    () =>
      nc.subscribe('wr.late', {
        callback: (_e, m) => {
          m.respond('here');
        },
      }),
    150,
  );
  try {
    const reply = await withResponders(() => {
      calls++;
      return nc.request('wr.late', 'x', { timeout: 1000 });
    }, 2000);
    assert.equal(reply.string(), 'here');
    assert.ok(calls > 1, `tried ${calls} times`);
  } finally {
    clearTimeout(late);
  }
});

test('withResponders - nobody within the grace: the no-responders error as it came; other errors are not retried', async () => {
  const started = Date.now();
  const err = await withResponders(() => nc.request('wr.nobody', 'x', { timeout: 1000 }), 300).then(
    () => assert.fail('answered'),
    (e: unknown) => e,
  );
  assert.equal(busCodeOf(err), 'ERR_BUS_NO_RESPONDER');
  const took = Date.now() - started;
  assert.ok(took >= 150 && took < 1500, `gave up after ${took} ms`);
  let calls = 0;
  await assert.rejects(
    withResponders(async () => {
      calls++;
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(calls, 1);
});
