import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { InprocBus } from '../src/index.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'agentgate-bus-files-'));
  dirs.push(d);
  return d;
}

/** Every path under `root` with its permission bits. */
function modes(root: string): Array<{ path: string; dir: boolean; mode: number }> {
  const out: Array<{ path: string; dir: boolean; mode: number }> = [];
  const walk = (p: string): void => {
    for (const name of readdirSync(p)) {
      const full = join(p, name);
      const st = statSync(full);
      out.push({ path: full.slice(root.length), dir: st.isDirectory(), mode: st.mode & 0o777 });
      if (st.isDirectory()) walk(full);
    }
  };
  walk(root);
  return out;
}

describe('in-process bus files', () => {
  test('in-process files - every file and directory the bus writes is owner-only (0600/0700), also those an older version left 0644', async () => {
    const dir = tempDir();
    // What an older version left behind: world-readable raw events.
    mkdirSync(join(dir, 'streams', 'OLD', 'consumers'), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, 'streams', 'OLD', 'config.json'), JSON.stringify({ name: 'OLD', subjects: ['old.>'] }), { mode: 0o644 });
    writeFileSync(join(dir, 'streams', 'OLD', 'messages.jsonl'), `${JSON.stringify({ seq: 1, ts: Date.now(), s: 'old.x', d: 'eA==' })}\n`, { mode: 0o644 });
    chmodSync(join(dir, 'streams'), 0o755);
    const bus = new InprocBus({ dataDir: dir });
    await bus.streams.ensure({ name: 'RAW', subjects: ['raw.>'], retention: 'workqueue' });
    for (let i = 0; i < 1100; i++) await bus.streams.publish('raw.x', `secret-${i}`, { msgId: `m${i}` });
    const c = await bus.streams.consumer('RAW', { durable: 'masking' });
    for (;;) {
      const got = await c.fetch({ batch: 500, expiresMs: 100 });
      if (got.length === 0) break;
      for (const m of got) await m.ack();
    }
    const old = await bus.streams.consumer('OLD', { durable: 'reader' });
    for (const m of await old.fetch({ batch: 1, expiresMs: 100 })) await m.ack();
    const kv = await bus.kv('approvals');
    await kv.put('a', 'b');
    await bus.drain();

    const seen = modes(dir);
    for (const want of [
      '/streams/RAW/messages.jsonl',
      '/streams/RAW/removed.log',
      '/streams/RAW/state.json',
      '/streams/RAW/consumers/masking.json',
      '/kv/approvals.jsonl',
      '/streams/OLD/messages.jsonl',
    ]) {
      assert.ok(
        seen.some((s) => s.path === want),
        `${want} was written`,
      );
    }
    const loose = seen.filter((s) => s.mode !== (s.dir ? 0o700 : 0o600));
    assert.deepEqual(loose, [], 'nothing readable by group or others');
    assert.equal(statSync(dir).mode & 0o077, 0, 'the data directory it created is owner-only');
  });

  test('in-process files - a work queue compacts its files: far more messages than it holds leave small files, and a restart sees the same state', async () => {
    const dir = tempDir();
    let bus = new InprocBus({ dataDir: dir });
    const cfg = { name: 'WQ', subjects: ['wq.>'], retention: 'workqueue' as const };
    await bus.streams.ensure(cfg);
    const c = await bus.streams.consumer('WQ', { durable: 'w', maxAckPending: 100_000 });
    const body = 'x'.repeat(1000);
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 500; i++) await bus.streams.publish('wq.x', body);
      for (;;) {
        const got = await c.fetch({ batch: 1000, expiresMs: 50 });
        if (got.length === 0) break;
        for (const m of got) await m.ack();
      }
    }
    // One message stays unacked across the restart.
    await bus.streams.publish('wq.x', 'last');
    const files = join(dir, 'streams', 'WQ');
    const size = (f: string): number => statSync(join(files, f)).size;
    const total = size('messages.jsonl') + size('removed.log') + size('consumers/w.acks');
    assert.ok(total < 2_000_000, `10,000 messages of 1 KB went through; the files hold ${total} bytes`);
    await bus.drain();

    bus = new InprocBus({ dataDir: dir });
    await bus.streams.ensure(cfg);
    const info = await bus.streams.info('WQ');
    assert.deepEqual([info.messages, info.firstSeq, info.lastSeq], [1, 10_001, 10_001]);
    const c2 = await bus.streams.consumer('WQ', { durable: 'w' });
    const got = await c2.fetch({ batch: 10, expiresMs: 200 });
    assert.deepEqual(
      got.map((m) => new TextDecoder().decode(m.data)),
      ['last'],
    );
    await got[0]!.ack();
    assert.equal((await bus.streams.publish('wq.x', 'next')).seq, 10_002);
    await bus.drain();
  });
});
