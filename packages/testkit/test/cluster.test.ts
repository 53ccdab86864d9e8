import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type NatsCluster, type OpenSearchCluster, startNatsCluster, startOpenSearchCluster } from '@agentgate/testkit';

describe('nats cluster', () => {
  let c: NatsCluster;
  before(async () => {
    c = await startNatsCluster({ nodes: 3 });
  });
  after(async () => {
    await c?.close();
  });

  test('nats cluster - three JetStream nodes; an R3 stream keeps taking writes with its leader killed and the node catches up after restart', async () => {
    assert.equal(c.nodes.length, 3);
    assert.equal(new Set(c.nodes.map((n) => n.storeDir)).size, 3, 'each node has its own store');
    const nc = await connect({ servers: [...c.urls] });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.add({ name: 'TESTKIT_R3', subjects: ['testkit.r3.>'], num_replicas: 3 });
      assert.equal(info.config.num_replicas, 3);
      assert.equal(info.cluster?.replicas?.length, 2, 'a leader and two replicas');
      assert.deepEqual(
        (await c.streams()).map((s) => [s.name, s.replicas]),
        [['TESTKIT_R3', 3]],
      );
      const js = jetstream(nc);
      await js.publish('testkit.r3.a', 'one');
      const leader = await c.streamLeader('TESTKIT_R3');
      assert.ok(leader !== undefined, 'the stream has a leader');
      await c.kill(leader);
      assert.equal(c.nodes[leader]?.running, false);
      // A new leader is elected among the two left; until then a publish may time out.
      let seq = 0;
      const errors: string[] = [];
      for (let i = 0; i < 100 && seq === 0; i++) {
        seq = await js
          .publish('testkit.r3.b', 'two', { msgID: 'b', timeout: 1000 })
          .then((a) => a.seq)
          .catch((err: unknown) => {
            errors.push(String(err));
            return new Promise<number>((r) => setTimeout(() => r(0), 100));
          });
      }
      if (errors.length) console.log(`publishes refused during the election: ${errors.length} (${errors[0]})`);
      assert.equal(seq, 2, 'the stream took a write without its old leader');
      const next = await c.streamLeader('TESTKIT_R3');
      assert.ok(next !== undefined && next !== leader, `a new leader (${next}) replaced ${leader}`);
      await c.start(leader);
      await c.waitHealthy();
      // A graceful rolling restart of another node: the stream keeps both messages on every node.
      const other = (leader + 1) % 3;
      await c.restart(other);
      assert.equal(c.nodes[other]?.running, true);
      await c.waitHealthy();
      const after = await jsm.streams.info('TESTKIT_R3');
      assert.equal(after.state.messages, 2);
    } finally {
      await nc.close();
    }
  });
});

describe('opensearch cluster', () => {
  let c: OpenSearchCluster;
  before(async () => {
    // C1 only and the serial GC: the JVMs start faster on a busy 2-core machine (throughput matters little here).
    c = await startOpenSearchCluster({ nodes: 2, jvmArgs: ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'] });
    console.log(`opensearch cluster start-up: ${c.nodes.map((n) => n.startupMs).join(', ')} ms`);
  });
  after(async () => {
    await c?.close();
  });

  test('opensearch cluster - two nodes form one cluster; a replicated index stays readable with one node killed and is green again after its restart', async () => {
    await c.waitFor('green');
    const [a, b] = c.urls;
    const put = await fetch(`${a}/tk-idx`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ settings: { number_of_shards: 1, number_of_replicas: 1 } }),
    });
    assert.equal(put.status, 200, await put.text());
    const doc = await fetch(`${b}/tk-idx/_doc/1?refresh=true`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"v":1}' });
    assert.equal(doc.status, 201, await doc.text());
    await c.waitFor('green');
    const manager = await c.clusterManager();
    assert.ok(manager !== undefined, 'a cluster manager is elected');
    const victim = manager === 0 ? 1 : 0;
    await c.kill(victim);
    const survivor = c.urls[manager]!;
    // The replica on the survivor is promoted: the document stays readable.
    let got = 0;
    for (let i = 0; i < 120 && got !== 200; i++) {
      got = (await fetch(`${survivor}/tk-idx/_doc/1`).catch(() => ({ status: 0 }))).status;
      if (got !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(got, 200);
    await c.start(victim);
    await c.waitFor('green');
    const count = (await (await fetch(`${c.urls[victim]}/tk-idx/_count`)).json()) as { count: number };
    assert.equal(count.count, 1);
  });
});
