import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type NatsCluster, startNatsCluster } from '@agentgate/testkit';
import { createBus } from '../src/index.js';

let cluster: NatsCluster;
before(async () => {
  cluster = await startNatsCluster({ nodes: 3 });
});
after(async () => {
  await cluster?.close();
});

test('nats cluster - the bus replicas option makes KV buckets R3 (an explicit KvOptions.replicas wins); streams take their own replicas', async () => {
  const bus = await createBus({ natsUrl: cluster.urls[0], name: 'bus-cluster-test', replicas: 3 });
  const single = await createBus({ natsUrl: cluster.urls[1], name: 'bus-cluster-test-r1' });
  try {
    const kv = await bus.kv('cluster_r3');
    await kv.put('k', 'v');
    await bus.kv('cluster_explicit', { replicas: 1 });
    await single.kv('cluster_default');
    await bus.streams.ensure({ name: 'CLUSTER_S', subjects: ['cluster.s.>'], replicas: 3 });
    const replicas = Object.fromEntries((await cluster.streams()).map((s) => [s.name, s.replicas]));
    assert.deepEqual(replicas, { KV_cluster_r3: 3, KV_cluster_explicit: 1, KV_cluster_default: 1, CLUSTER_S: 3 });
    // The bucket stays usable through another node of the cluster.
    assert.equal((await (await single.kv('cluster_r3')).get('k'))?.string(), 'v');
  } finally {
    await bus.close();
    await single.close();
  }
});
