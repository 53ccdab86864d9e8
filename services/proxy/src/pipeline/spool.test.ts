import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type AuditEvent, buildActionEvent, type Principal } from '@agentgate/events';
import { OutcomeSpool } from './spool.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function spoolDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'agentgate-spool-unit-'));
  dirs.push(d);
  return join(d, 'spool');
}

const principal: Principal = {
  issuer: 'https://issuer.test',
  subject: 'repo:acme/app',
  groups: [],
  claims: {},
  ci: { provider: 'github-actions', repository: 'acme/app', run: '1', attempt: '1' },
  sessionId: 'acme/app:1:1',
  expiresAt: 2_000_000_000,
};

/** Fixed-size events (n below 1000), so byte bounds are exact. */
function outcome(n: number): AuditEvent {
  const id = String(n).padStart(3, '0');
  return buildActionEvent({
    phase: 'completed',
    principal,
    action: { id: `action-${id}`, kind: 'http.request', connection: 'api' },
    url: { path: `/api/n/${id}` },
    http: { request: { method: 'GET' }, response: { status_code: 200 } },
  });
}
const ids = (events: AuditEvent[]): string[] => events.map((e) => e.agentgate.action.id);

function drain(s: OutcomeSpool): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (let e = s.peek(); e; e = s.peek()) {
    out.push(e);
    s.shift();
  }
  return out;
}

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

test('spool - events are owner-only JSON lines on disk, kept across a close and replayed in order; commit makes shifts durable', () => {
  const dir = spoolDir();
  const a = OutcomeSpool.open({ dir, maxBytes: 1_000_000 });
  for (const n of [1, 2, 3]) assert.equal(a.append(outcome(n)), true);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(a.path).mode & 0o777, 0o600);
  assert.equal(readFileSync(a.path, 'utf8').trim().split('\n').length, 3, 'on disk before append returned');
  a.shift(); // stored: close() commits it
  a.close();
  assert.ok(existsSync(a.path), 'a non-empty spool stays for the next start');

  const b = OutcomeSpool.open({ dir, maxBytes: 1_000_000 });
  assert.deepEqual([b.stats().recovered, b.size], [2, 2]);
  assert.ok(!existsSync(a.path), 'the earlier file was taken over');
  assert.equal(b.peek()?.agentgate.action.id, 'action-002');
  b.shift();
  b.commit();
  assert.equal(readFileSync(b.path, 'utf8').trim().split('\n').length, 1);
  b.append(outcome(4));
  assert.deepEqual(ids(drain(b)), ['action-003', 'action-004']);
  b.close();
  assert.deepEqual(readdirSync(dir), [], 'an empty spool leaves no file');
});

test('spool - the bound: nearly full before it (room kept for outcomes in flight), an event past it is refused and counted', () => {
  const dir = spoolDir();
  const size = Buffer.byteLength(`${JSON.stringify(outcome(1))}\n`);
  const s = OutcomeSpool.open({ dir, maxBytes: size * 10 });
  let n = 0;
  while (!s.nearlyFull) assert.equal(s.append(outcome(++n)), true);
  assert.equal(n, 9, 'the last tenth is kept for outcomes');
  assert.equal(s.append(outcome(++n)), true);
  assert.equal(s.append(outcome(++n)), false);
  assert.deepEqual([s.stats().dropped, s.size], [1, 10]);
  assert.ok(s.stats().bytes <= s.stats().maxBytes);
  drain(s);
  assert.equal(s.nearlyFull, false);
  s.close();
});

test('spool - takes over the files of proxies that are gone, oldest first, never the file of a running process, and skips a torn line', () => {
  const dir = spoolDir();
  mkdirSync(dir, { recursive: true });
  const line = (n: number): string => `${JSON.stringify(outcome(n))}\n`;
  const gone = deadPid();
  const older = join(dir, `outcomes-${gone}-aaaa.jsonl`);
  const newer = join(dir, `outcomes-${gone}-bbbb.jsonl`);
  const running = join(dir, `outcomes-${process.ppid}-cccc.jsonl`);
  writeFileSync(newer, line(3) + line(4).slice(0, 40)); // a crash mid-write: torn last line
  writeFileSync(older, line(1) + line(2));
  writeFileSync(running, line(9));
  writeFileSync(join(dir, `outcomes-${gone}-aaaa.jsonl.tmp`), 'half a rewrite');
  const past = Date.now() / 1000 - 60;
  utimesSync(older, past, past);
  const s = OutcomeSpool.open({ dir, maxBytes: 1_000_000 });
  assert.deepEqual([s.stats().recovered, s.stats().unreadable], [3, 1]);
  assert.ok(existsSync(running), 'the file of a process still running is left to it');
  assert.deepEqual(readdirSync(dir).sort(), [running, s.path].map((p) => p.slice(dir.length + 1)).sort());
  assert.deepEqual(ids(drain(s)), ['action-001', 'action-002', 'action-003']);
  s.close();
});
