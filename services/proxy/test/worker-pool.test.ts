import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLogger } from '@agentgate/log';
import { startWorkerPool } from '../src/workers.js';

const dir = mkdtempSync(join(tmpdir(), 'agentgate-worker-pool-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('worker pool - workers that keep exiting at start-up stop the pool with code 1 instead of being restarted forever', async () => {
  // A worker that cannot start (as one would with NATS unreachable): it exits at once, every time.
  const entry = join(dir, 'failing-worker.mjs');
  writeFileSync(entry, 'process.exit(3);\n');
  cluster.setupPrimary({ exec: entry, silent: true });
  const lines: string[] = [];
  const log = createLogger({ name: 'proxy', level: 'info', destination: { write: (l: string) => void lines.push(l) } });
  const pool = startWorkerPool({ workers: 2, stopTimeoutMs: 5_000, log, restartDelayMs: 20, maxRestarts: 4, restartWindowMs: 60_000 });
  const code = await Promise.race([pool.stopped, new Promise((r) => setTimeout(() => r('still restarting after 20 s'), 20_000).unref())]);
  assert.equal(code, 1);
  const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  assert.equal(messages.filter((m) => m === 'proxy worker exited unexpectedly: starting another').length, 4, 'restarted up to the budget');
  assert.equal(messages.filter((m) => m === 'proxy workers keep exiting: stopping them all').length, 1);
  assert.deepEqual(pool.pids(), [], 'no worker is left');
  // Nothing is forked after the pool stopped.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(Object.keys(cluster.workers ?? {}).length, 0);
});
