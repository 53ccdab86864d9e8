import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createBus } from '@agentgate/bus';
import { createLogger } from '@agentgate/log';
import { publicKeyPath, startAuditWriter } from '../src/index.js';
import { tmp, writerConfig } from './helpers.js';

/** Starts a writer with `keyPath` configured and returns what it logged. */
async function startWith(dir: string, keyPath: string): Promise<Array<Record<string, unknown>>> {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const bus = await createBus({ dataDir: join(dir, 'bus') });
  const config = writerConfig(dir, [{ type: 'local', path: join(dir, 'audit') }], {
    checkpoint: { everyEvents: 1000, everySeconds: 60, idleMs: 2000, keyPath },
  });
  const writer = await startAuditWriter(bus, config, createLogger({ name: 'aw', level: 'info', destination }));
  await writer.stop();
  await bus.close();
  return lines;
}

test('checkpoint key - a configured keyPath that does not exist gets a new key (0600) and its public key, with a warning naming the path', async () => {
  const dir = tmp('key');
  const keyPath = join(dir, 'fresh-volume', 'checkpoint-key.json');
  const lines = await startWith(dir, keyPath);
  assert.ok(existsSync(keyPath) && existsSync(publicKeyPath(keyPath)));
  assert.equal(statSync(keyPath).mode & 0o777, 0o600);
  const warn = lines.find((l) => l['level'] === 'warn' && String(l['msg']).startsWith('generated a checkpoint signing key'));
  assert.ok(warn, JSON.stringify(lines));
  assert.equal(warn['keyPath'], keyPath);
  assert.match(String(warn['msg']), /configured audit\.checkpoint\.keyPath did not exist/);
  // The private key is never logged.
  const d = (JSON.parse(readFileSync(keyPath, 'utf8')) as { d: string }).d;
  assert.ok(!JSON.stringify(lines).includes(d));

  // A second start reuses the key: no new key, no warning.
  const before = readFileSync(keyPath, 'utf8');
  const again = await startWith(dir, keyPath);
  assert.equal(readFileSync(keyPath, 'utf8'), before);
  assert.ok(!again.some((l) => String(l['msg']).startsWith('generated a checkpoint signing key')));
});
