import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Bus, createBus } from '@agentgate/bus';
import { type NatsServer, startNats, waitFor } from '@agentgate/testkit';
import { exportJWK, generateKeyPair } from 'jose';
import { LEASE_SUBJECT, MASKLIST_SUBJECT, createLeaseClient, injectCredential, startSecretBroker } from '../src/index.js';
import { SECRET, config, leakForms } from './helpers.js';

test('lease - end to end over a real nats-server, nothing readable on the wire', async () => {
  let nats: NatsServer | undefined;
  let server: Bus | undefined;
  let client: Bus | undefined;
  let sniffer: Bus | undefined;
  try {
    nats = await startNats();
    server = await createBus({ natsUrl: nats.url, name: 'secret-broker-test' });
    client = await createBus({ natsUrl: nats.url, name: 'proxy-test' });
    sniffer = await createBus({ natsUrl: nats.url, name: 'sniffer' });
    // A passive subscriber to every subject sees what an eavesdropper on the bus would see.
    const seen: string[] = [];
    const subjects: string[] = [];
    sniffer.subscribe('>', (msg) => {
      subjects.push(msg.subject);
      seen.push(Buffer.from(msg.data).toString('latin1'));
    });
    await sniffer.flush(); // the server knows the sniffer's interest before any traffic
    const broker = await startSecretBroker(server, config(), undefined, { env: { GH_TOKEN: SECRET, REG_PASSWORD: 'pw' } });

    const leases = createLeaseClient(client);
    const lease = await leases.lease('github');
    assert.equal(lease.value, SECRET);
    assert.equal(injectCredential({}, lease)['authorization'], `Bearer ${SECRET}`);
    assert.deepEqual(await leases.masklist(), [
      { ref: 'gh', value: SECRET },
      { ref: 'reg', value: 'pw' },
    ]);
    await assert.rejects(leases.lease('unknown'), { code: 'ERR_SECRET_UNKNOWN_CONNECTION' });

    // The raw reply bytes, as the requester receives them.
    const { publicKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256' });
    const { kty, crv, x, y } = await exportJWK(publicKey);
    const raw = await client.requestRaw(LEASE_SUBJECT, JSON.stringify({ connection: 'github', publicKey: { kty, crv, x, y } }));
    const rawMask = await client.requestRaw(MASKLIST_SUBJECT, JSON.stringify({ publicKey: { kty, crv, x, y } }));
    // A marker published after the replies were received reaches the sniffer after them (the server routed each
    // reply to every subscriber before the client got it): once the sniffer has it, it has seen everything before.
    client.publish('sniffer.marker', 'end');
    await client.flush();
    await waitFor(() => subjects.includes('sniffer.marker'), { what: 'the sniffer to see the marker', intervalMs: 10 });
    const wire = [...seen, Buffer.from(raw.data).toString('latin1'), Buffer.from(rawMask.data).toString('latin1')];
    assert.ok(
      seen.some((m) => m.includes('"jwe":"ey')),
      'the sniffer saw the encrypted replies',
    );
    for (const form of leakForms(SECRET)) {
      assert.equal(
        wire.some((m) => m.includes(form)),
        false,
        'a form of the secret crossed the bus',
      );
    }
    await broker.stop();
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BINARY_MISSING') assert.fail('nats-server not found: apt-get install -y nats-server');
    throw err;
  } finally {
    await sniffer?.close();
    await client?.close();
    await server?.drain();
    await nats?.close();
  }
});
