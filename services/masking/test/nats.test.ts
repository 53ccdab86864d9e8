import assert from 'node:assert/strict';
import { type Bus, createBus } from '@agentgate/bus';
import { type NatsServer, startNats } from '@agentgate/testkit';
import { maskingSuite } from './suite.js';

async function nats(): Promise<NatsServer> {
  try {
    return await startNats();
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BINARY_MISSING') assert.fail('nats-server not found: apt-get install -y nats-server');
    throw err;
  }
}

// A real nats-server with JetStream; the broker answers on its own connection, as its own process would.
maskingSuite('nats-server', async () => {
  const server = await nats();
  let bus: Bus | undefined;
  let brokerBus: Bus | undefined;
  try {
    bus = await createBus({ natsUrl: server.url, name: 'masking-test' });
    brokerBus = await createBus({ natsUrl: server.url, name: 'broker-test' });
  } catch (err) {
    await bus?.close();
    await server.close();
    throw err;
  }
  const b = bus;
  const bb = brokerBus;
  return {
    bus: b,
    brokerBus: bb,
    async close() {
      await bb.drain().catch(() => {});
      await b.drain().catch(() => {});
      await server.close();
    },
  };
});
