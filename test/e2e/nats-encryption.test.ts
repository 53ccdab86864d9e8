import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Bus, NatsBus } from '@agentgate/bus';
import { STREAMS, auditStreamConfig } from '@agentgate/events';
import { type NatsServer, startNats } from '@agentgate/testkit';

/**
 * Issue 11 item 6: the raw audit stream holds unmasked values until the masking service has them;
 * deploy/nats/nats-server-encrypted.conf encrypts the JetStream store at rest. Checked on a real
 * nats-server started with that file: the store's files never hold a published value in clear.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const servers: NatsServer[] = [];
const dir = mkdtempSync(join(tmpdir(), 'agentgate-nats-enc-'));
after(async () => {
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The deploy file as shipped, with its store under a temp dir (nats-server refuses -sd beside store_dir). */
async function startWith(file: string, name: string): Promise<{ server: NatsServer; storeDir: string }> {
  const storeDir = join(dir, name);
  const conf = join(dir, `${name}.conf`);
  const text = readFileSync(join(ROOT, 'deploy/nats', file), 'utf8');
  assert.ok(text.includes('store_dir: /data/jetstream'));
  writeFileSync(conf, text.replace('store_dir: /data/jetstream', `store_dir: ${storeDir}`));
  const server = await startNats({ jetstream: false, args: ['-c', conf] });
  servers.push(server);
  return { server, storeDir };
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** Whether any file of the store holds `marker` (as is, or base64 as a JSON string would carry bytes). */
function storeHolds(storeDir: string, marker: string): boolean {
  const forms = [marker, Buffer.from(marker).toString('base64')].map((f) => Buffer.from(f));
  return filesUnder(storeDir).some((f) => {
    const bytes = readFileSync(f);
    return forms.some((form) => bytes.includes(form));
  });
}

async function publishRaw(server: NatsServer, marker: string): Promise<void> {
  const bus: Bus = await NatsBus.connect({ servers: server.url, name: 'encryption-test' });
  await bus.streams.ensure(auditStreamConfig(STREAMS.AUDIT_RAW, { maxBytes: 10_000_000, replicas: 1 }));
  await bus.streams.publish('audit.raw.s1', JSON.stringify({ prompt: `the agent pasted ${marker}` }));
  await bus.close();
}

async function readBack(server: NatsServer): Promise<string> {
  const bus: Bus = await NatsBus.connect({ servers: server.url, name: 'encryption-test' });
  const m = await bus.streams.get(STREAMS.AUDIT_RAW.name, 1);
  await bus.close();
  return m ? Buffer.from(m.data).toString('utf8') : '';
}

test('nats encryption at rest - with deploy/nats/nats-server-encrypted.conf the store never holds an audit value in clear; the plain config does', async () => {
  const marker = `UNMASKED-${randomBytes(12).toString('hex')}`;
  process.env['JS_KEY'] = randomBytes(32).toString('base64');
  const { server: encrypted, storeDir: encStore } = await startWith('nats-server-encrypted.conf', 'encrypted');
  await publishRaw(encrypted, marker);
  await encrypted.stop();
  assert.equal(storeHolds(encStore, marker), false, 'the encrypted store holds no clear value');
  await encrypted.start();
  assert.match(await readBack(encrypted), new RegExp(marker), 'read back with the same key');
  await encrypted.stop();

  // Control: the same scan finds the value in a store without encryption, so the check above can fail.
  const { server: plain, storeDir: plainStore } = await startWith('nats-server.conf', 'plain');
  await publishRaw(plain, marker);
  await plain.stop();
  assert.equal(storeHolds(plainStore, marker), true, 'a plain store holds the value in clear');
});
