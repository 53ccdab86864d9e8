import { after, before } from 'node:test';
import { startNats } from '@agentgate/testkit';
import { type Bus, NatsBus } from '../src/index.js';
import { conformance } from './conformance.js';

type Nats = Awaited<ReturnType<typeof startNats>>;
let server: Nats;
before(async () => {
  server = await startNats();
  console.log(`nats-server start-up: ${server.startupMs} ms`);
});
after(async () => {
  await server?.close();
});

const connect = (): Promise<Bus> => NatsBus.connect({ servers: server.url, name: 'conformance' });

conformance('nats', {
  bus: connect,
  outage: async (bus) => {
    await server.stop();
    // the publish under test must meet a client that knows the connection dropped
    for (const deadline = Date.now() + 10_000; bus.status() === 'connected' && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    return async () => {
      // The old client would reconnect forever and keep the test process alive.
      await bus.close();
      await server.start();
      return connect();
    };
  },
  restart: async (bus) => {
    await bus.close();
    await server.restart();
    return connect();
  },
  childEnv: () => ({ NATS_URL: server.url }),
});
