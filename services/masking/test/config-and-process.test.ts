import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createBus } from '@agentgate/bus';
import { configSchema } from '@agentgate/config';
import { decodeEvent } from '@agentgate/events';
import { startSecretBroker } from '@agentgate/secret-broker';
import { startNats, tempDir, waitFor } from '@agentgate/testkit';
import { ensureAuditStreams, startMaskingService } from '../src/index.js';
import { CLEAN, SECRET, captureLogger, publishRaw, rawEvent, readStream, testConfig, text } from './helpers.js';

test('config - masking.service has defaults and rejects unknown keys naming them', () => {
  const c = configSchema.parse({});
  assert.deepEqual(c.masking.service, {
    batch: 200,
    maxInFlight: 64,
    lingerMs: 20,
    ackWaitMs: 30_000,
    masklistRefreshMs: 60_000,
    retryDelayMs: 2_000,
    missRefreshMs: 5_000,
  });
  const r = configSchema.safeParse({ masking: { service: { batchSize: 10 } } });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /batchSize/);
  assert.equal(configSchema.safeParse({ masking: { service: { batch: 0 } } }).success, false);
});

test('config - an unknown detector id stops start-up with ERR_MASKSVC_CONFIG', async () => {
  const dir = tempDir('masking-config');
  const bus = await createBus({ dataDir: dir.path });
  try {
    const config = configSchema.parse({ masking: { detectors: ['no-such-detector'] } });
    await assert.rejects(startMaskingService(bus, config, captureLogger().logger), { code: 'ERR_MASKSVC_CONFIG' });
  } finally {
    await bus.close();
    dir.cleanup();
  }
});

test('config - a hand-built section takes the service defaults from @agentgate/config; a bad one stops start-up naming the key', async () => {
  const dir = tempDir('masking-config-defaults');
  const bus = await createBus({ dataDir: dir.path });
  try {
    const base = configSchema.parse({});
    const { lines, logger } = captureLogger();
    // No masking.service at all (an embedder's hand-built config): the schema's defaults apply.
    const bare = { ...base, masking: { ...base.masking, service: undefined } } as unknown as typeof base;
    const svc = await startMaskingService(bus, bare, logger);
    await svc.stop();
    const started = lines.map((l) => JSON.parse(l) as { msg: string; batch?: number; maxInFlight?: number }).find((l) => l.msg === 'masking service started');
    assert.deepEqual([started?.batch, started?.maxInFlight], [200, 64]);
    const bad = { ...base, masking: { ...base.masking, service: { ...base.masking.service, batch: 0 } } };
    await assert.rejects(startMaskingService(bus, bad, logger), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'ERR_MASKSVC_CONFIG');
      assert.match((err as Error).message, /masking\.service\.batch/);
      return true;
    });
  } finally {
    await bus.close();
    dir.cleanup();
  }
});

test('process - src/main.ts masks over NATS as its own process and exits 0 on SIGTERM', async () => {
  let nats: Awaited<ReturnType<typeof startNats>>;
  try {
    nats = await startNats();
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BINARY_MISSING') assert.fail('nats-server not found: apt-get install -y nats-server');
    throw err;
  }
  const dir = tempDir('masking-main');
  const bus = await createBus({ natsUrl: nats.url, name: 'test' });
  try {
    const cfgPath = join(dir.path, 'agentgate.yaml');
    writeFileSync(
      cfgPath,
      [
        `bus: { natsUrl: "${nats.url}", dataDir: "${dir.path}" }`,
        'connections: [{ name: github, type: http, upstream: "https://api.github.com", credential: { ref: gh, inject: bearer } }]',
        'secrets: [{ ref: gh, source: env, env: GH_TOKEN }]',
        'log: { level: info }',
      ].join('\n'),
    );
    const config = testConfig();
    const broker = await startSecretBroker(bus, config, undefined, { env: { GH_TOKEN: SECRET } });
    await ensureAuditStreams(bus, config.bus.streams);
    const ev = rawEvent({ attributes: { leaked: SECRET } });
    await publishRaw(bus, ev);
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    // The service process never gets the secret's environment variable: it learns values from the broker only.
    const env = { PATH: process.env['PATH'] ?? '', AGENTGATE_CONFIG: cfgPath, HOME: dir.path };
    const child = spawn(process.execPath, ['--conditions=agentgate-source', '--import', 'tsx', main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await waitFor(async () => (await bus.streams.info(CLEAN)).messages >= 2, {
      what: 'clean events from the process',
      timeoutMs: 90_000,
      abortIf: () => (child.exitCode !== null ? `exited: ${out}` : undefined),
    });
    const msgs = await readStream(bus, CLEAN);
    assert.equal(decodeEvent(msgs[0]!.data).event.id, ev.event.id);
    for (const m of msgs) assert.equal(text(m).includes(SECRET), false);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    assert.match(out, /masking service stopped/);
    assert.equal(out.includes(SECRET), false, 'nothing secret in the process output');
    await broker.stop();
  } finally {
    await bus.drain().catch(() => {});
    await nats.close();
    dir.cleanup();
  }
});
