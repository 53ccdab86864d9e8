import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProxyError } from '../../errors.js';
import type { ClientLink, EarlyResponse } from '../types.js';
import { GitPushRefusal } from './errors.js';
import { FLUSH, pkt, readPkt, sideband } from './pkt-line.js';
import { GitProgress } from './progress.js';
import type { ReceivePackHead } from './receive-pack-head.js';
import { PushReportObserver } from './report-status.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

function head(caps: string[]): ReceivePackHead {
  return { commands: [{ old: A, new: B, ref: 'refs/heads/main' }], capabilities: caps, pushOptions: [], shallow: [], packOffset: 100 };
}

/** A client link that records the head and bytes, and can refuse to start (the pipeline answered first). */
function fakeClient(open = true) {
  const gone = new AbortController();
  const seen = {
    head: undefined as { status: number; headers: Record<string, string> } | undefined,
    bytes: [] as Buffer[],
    early: undefined as EarlyResponse | undefined,
  };
  const client: ClientLink = {
    gone: gone.signal,
    startResponse(status, headers, early) {
      if (!open) return undefined;
      seen.head = { status, headers };
      seen.early = early;
      return (chunk) => seen.bytes.push(chunk);
    },
  };
  return { client, seen, leave: () => gone.abort() };
}

/** Data packets of a buffer, as band + text. */
function frames(buf: Buffer): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (let at = 0; at < buf.length; ) {
    const p = readPkt(buf, at);
    assert.ok(p);
    if (p.type === 'data') out.push([p.payload[0] ?? -1, p.payload.subarray(1).toString('latin1')]);
    at += p.size;
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('git progress - nothing without side-band or a client; armed, it starts the result and sends band-2 lines', (t) => {
  // The interval is driven by mock timers: on a loaded machine a real 20 ms sleep can outlast a 40 ms interval.
  t.mock.timers.enable({ apis: ['setInterval'] });
  assert.equal(GitProgress.forPush(fakeClient().client, head(['report-status']), 50, 'x'), undefined, 'no side-band: no channel');
  assert.equal(GitProgress.forPush(undefined, head(['side-band-64k']), 50, 'x'), undefined);
  const { client, seen } = fakeClient();
  const p = GitProgress.forPush(client, head(['report-status', 'side-band-64k']), 40, 'updating the mirror');
  assert.ok(p);
  p.arm();
  t.mock.timers.tick(20);
  assert.equal(seen.head, undefined, 'a push answered within the interval is untouched');
  t.mock.timers.tick(120);
  p.stop();
  const started = seen.head as { status: number; headers: Record<string, string> } | undefined;
  assert.equal(started?.status, 200);
  assert.equal(started?.headers['content-type'], 'application/x-git-receive-pack-result');
  const lines = frames(Buffer.concat(seen.bytes));
  assert.ok(lines.length >= 2);
  assert.ok(lines.every(([band, text]) => band === 2 && /^agentgate: updating the mirror \(\d+s\)\n$/.test(text)));
  const n = seen.bytes.length;
  t.mock.timers.tick(100);
  assert.equal(seen.bytes.length, n, 'stopped');
});

test('git progress - a quiet client gets empty packets, but notices in full', async () => {
  const { client, seen } = fakeClient();
  const p = GitProgress.forPush(client, head(['side-band-64k', 'quiet']), 30, 'x');
  assert.ok(p);
  p.arm();
  await sleep(100);
  p.notice('held for approval by release-managers: 42 https://gw/_agentgate/approvals/42');
  p.stop();
  const lines = frames(Buffer.concat(seen.bytes));
  assert.ok(lines.slice(0, -1).length >= 1 && lines.slice(0, -1).every(([band, text]) => band === 2 && text === ''));
  assert.deepEqual(lines.at(-1), [2, 'agentgate: held for approval by release-managers: 42 https://gw/_agentgate/approvals/42\n']);
});

test('git progress - once the pipeline has answered, it stops instead of starting a response', async () => {
  const { client, seen } = fakeClient(false);
  const p = GitProgress.forPush(client, head(['side-band-64k']), 20, 'x');
  assert.ok(p);
  p.arm();
  await sleep(80);
  assert.equal(seen.bytes.length, 0);
  assert.equal(p.started, false);
});

test('git progress - after its head, refusals are per-ref report-status in band 1, and only a 200 result may follow', () => {
  const { client } = fakeClient();
  const p = GitProgress.forPush(client, head(['report-status', 'side-band-64k']), 1000, 'x');
  assert.ok(p);
  p.notice('hello');
  const report = (buf: Buffer) => {
    const outer = frames(buf);
    assert.equal(outer[0]?.[0], 1);
    return frames(Buffer.from(outer[0]?.[1] ?? '', 'latin1')).map(([band, text]) => String.fromCharCode(band) + text);
  };
  assert.deepEqual(report(p.refusal(new ProxyError('ERR_APPROVAL_REJECTED', 'rejected by alice: not now'))), [
    'unpack ok\n',
    'ng refs/heads/main rejected by alice: not now\n',
  ]);
  const own = new GitPushRefusal('ERR_POLICY_DENIED', 'x', {
    refs: [{ ref: 'refs/heads/main', reason: 'force-push denied' }],
    capabilities: ['side-band-64k'],
  });
  assert.deepEqual(report(p.refusal(own)), ['unpack ok\n', 'ng refs/heads/main force-push denied\n']);
  assert.equal(p.upstream(200, { 'content-type': 'application/x-git-receive-pack-result' }), undefined);
  assert.equal(p.upstream(500, { 'content-type': 'application/x-git-receive-pack-result' })?.code, 'ERR_UPSTREAM_FAILED');
  assert.equal(p.upstream(200, { 'content-type': 'text/html' })?.code, 'ERR_UPSTREAM_FAILED');
});

test('git push report - reads ok/ng from side-band 1 (any chunking), band-3 errors, plain reports, and a cut report', () => {
  const inner = Buffer.concat([
    pkt('unpack ok\n'),
    pkt('ok refs/heads/main\n'),
    pkt('option refname refs/heads/main\n'),
    pkt('ng refs/heads/x stale info\n'),
    FLUSH,
  ]);
  const banded = Buffer.concat([pkt(Buffer.concat([Buffer.from([2]), Buffer.from('progress\n')])), sideband(1, inner, 7), FLUSH]);
  for (const size of [1, 3, 64, banded.length]) {
    const o = new PushReportObserver(['side-band-64k']);
    const out: Buffer[] = [];
    o.transform.on('data', (c: Buffer) => out.push(c));
    for (let i = 0; i < banded.length; i += size) o.transform.write(banded.subarray(i, i + size));
    assert.deepEqual(Buffer.concat(out), banded, 'bytes pass through');
    const r = o.finish();
    assert.equal(r.outcome, 'failure');
    assert.deepEqual(r.labels, { git_refs_updated: 1, git_refs_rejected: 1, git_unpack: 'ok', git_rejected: 'refs/heads/x (stale info)' });
  }
  const plain = new PushReportObserver(['report-status']);
  plain.transform.write(Buffer.concat([pkt('unpack ok\n'), pkt('ok refs/heads/main\n'), FLUSH]));
  assert.deepEqual(plain.finish(), { outcome: 'success', labels: { git_refs_updated: 1, git_refs_rejected: 0, git_unpack: 'ok' } });
  const fatal = new PushReportObserver(['side-band-64k']);
  fatal.transform.write(pkt(Buffer.concat([Buffer.from([3]), Buffer.from('disk full\n')])));
  assert.match(fatal.finish().reason ?? '', /the upstream failed: disk full/);
  const cut = new PushReportObserver(['side-band-64k']);
  cut.transform.write(sideband(1, pkt('unpack ok\n')));
  assert.deepEqual([cut.finish().outcome, cut.finish().reason], ['failure', 'the upstream sent no complete push report']);
});
