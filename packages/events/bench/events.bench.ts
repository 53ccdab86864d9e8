/**
 * Throughput of the event primitives, each beside a baseline in the same run:
 * newEventId vs crypto.randomUUID, canonicalize vs JSON.stringify,
 * hashEvent vs sha256(JSON.stringify), validateEvent alone.
 * Run: node --conditions=agentgate-source --import tsx bench/events.bench.ts
 */
import { createHash, randomUUID } from 'node:crypto';
import { testPrincipal } from '../test/fixtures.js';
import { GENESIS_HASH, buildActionEvent, canonicalize, hashEvent, newEventId, validateEvent } from '../src/index.js';

function rate(label: string, n: number, fn: () => void): number {
  for (let i = 0; i < Math.min(n, 2000); i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0);
  const perSec = (n / ns) * 1e9;
  console.log(`${label.padEnd(34)} ${Math.round(perSec).toLocaleString('en-US').padStart(12)} ops/s  ${(ns / n / 1000).toFixed(2)} µs/op`);
  return perSec;
}

const ev = buildActionEvent({
  phase: 'completed',
  principal: testPrincipal(),
  action: { id: 'act-1', kind: 'git.push', connection: 'github', attributes: { refs: ['refs/heads/main'] } },
  decision: { effect: 'allow', rule: 'git-read-write' },
  http: { request: { method: 'POST', bytes: 1024, id: 'req-1' }, response: { status_code: 200, bytes: 512 } },
  url: { path: '/git/github/app.git/git-receive-pack' },
  source: { ip: '127.0.0.1', port: 50000 },
  destination: { address: 'github.com', port: 443 },
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
});
console.log(`event size: ${JSON.stringify(ev).length} bytes of JSON`);
const a = rate('newEventId', 300_000, () => newEventId());
const b = rate('crypto.randomUUID (baseline)', 300_000, () => randomUUID());
console.log(`  ratio ${(a / b).toFixed(2)}x`);
const c = rate('canonicalize(event)', 50_000, () => canonicalize(ev));
const d = rate('JSON.stringify(event) (baseline)', 50_000, () => JSON.stringify(ev));
console.log(`  ratio ${(c / d).toFixed(2)}x`);
const e = rate('hashEvent(event, prev)', 50_000, () => hashEvent(ev, GENESIS_HASH));
const f = rate('sha256(JSON.stringify) (baseline)', 50_000, () => createHash('sha256').update(JSON.stringify(ev)).digest('hex'));
console.log(`  ratio ${(e / f).toFixed(2)}x`);
rate('validateEvent(event)', 50_000, () => validateEvent(ev));
