import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type NatsServer, startNats } from '@agentgate/testkit';

describe('nats', () => {
  let nats: NatsServer;

  before(async () => {
    nats = await startNats();
    console.log(`nats-server start-up: ${nats.startupMs} ms (port ${nats.port})`);
  });

  after(async () => {
    await nats?.close();
  });

  test('nats - starts on a loopback port and accepts a connection', async () => {
    assert.match(nats.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(nats.startupMs > 0 && nats.startupMs < 20_000);
    const nc = await connect({ servers: nats.url });
    try {
      const sub = nc.subscribe('testkit.ping', { max: 1 });
      nc.publish('testkit.ping', 'hello');
      for await (const msg of sub) assert.equal(msg.string(), 'hello');
    } finally {
      await nc.close();
    }
  });

  test('nats - JetStream keeps its stream across stop/start on the same port', async () => {
    const portBefore = nats.port;
    const urlBefore = nats.url;
    let nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'TESTKIT', subjects: ['testkit.js.>'] });
    const ack1 = await jetstream(nc).publish('testkit.js.a', 'before');
    assert.equal(ack1.seq, 1);
    await nc.close();

    await nats.stop();
    assert.equal(nats.running, false);
    await assert.rejects(connect({ servers: urlBefore, reconnect: false, timeout: 500 }));

    await nats.start();
    console.log(`nats-server restart: ${nats.startupMs} ms`);
    assert.equal(nats.port, portBefore);
    assert.equal(nats.url, urlBefore);
    nc = await connect({ servers: nats.url });
    try {
      const ack2 = await jetstream(nc).publish('testkit.js.b', 'after');
      assert.equal(ack2.stream, 'TESTKIT');
      assert.equal(ack2.seq, 2, 'the stream and its first message survived the restart');
      const info = await (await jetstreamManager(nc)).streams.info('TESTKIT');
      assert.equal(info.state.messages, 2);
    } finally {
      await nc.close();
    }
  });

  test('nats - kill() then start() recovers the store, as after a crash', async () => {
    await nats.kill();
    assert.equal(nats.running, false);
    await nats.start();
    const nc = await connect({ servers: nats.url });
    try {
      const ack = await jetstream(nc).publish('testkit.js.c', 'after crash');
      assert.equal(ack.seq, 3);
    } finally {
      await nc.close();
    }
  });
});
