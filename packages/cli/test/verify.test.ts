import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readLocalTrail } from '@agentgate/audit-writer';
import { loadConfig } from '@agentgate/config';
import { type Principal, buildActionEvent, cleanSubject, encodeEvent, eventMsgId, newEventId } from '@agentgate/events';
import { type Output, runCli, startGateway } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'agentgate-verify-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const principal: Principal = {
  issuer: 'https://ci.example',
  subject: 'repo:acme/app:ref:refs/heads/main',
  groups: [],
  claims: {},
  ci: { provider: 'github-actions', repository: 'acme/app', run: '7', attempt: '1' },
  sessionId: 'gh:acme/app:7:1',
  expiresAt: Math.floor(Date.now() / 1000) + 600,
};

function capture(): Output & { text(): string } {
  const lines: string[] = [];
  return { out: (l) => lines.push(l), err: (l) => lines.push(l), text: () => lines.join('\n') };
}

describe('cli verify', () => {
  it('verify - an untouched local trail passes (exit 0) and an edited event is reported (exit 1)', async () => {
    const file = join(dir, 'agentgate.yaml');
    writeFileSync(
      file,
      [
        'bus:',
        `  dataDir: ${join(dir, 'data')}`,
        'audit:',
        '  sinks:',
        `    - { type: local, path: ${join(dir, 'audit')} }`,
        '  checkpoint: { everyEvents: 5, everySeconds: 60 }',
        '  batch: { maxEvents: 4, maxBytes: 1048576, maxWaitMs: 50 }',
        '',
      ].join('\n'),
    );
    const gw = await startGateway(loadConfig({ path: file, env: {} }), { only: ['audit-writer'] });
    for (let i = 0; i < 12; i++) {
      const event = buildActionEvent({ phase: 'requested', principal, action: { id: newEventId(), kind: 'http.get', connection: 'api' } });
      await gw.bus.streams.publish(cleanSubject(event), encodeEvent(event), { msgId: eventMsgId(event) });
    }
    for (let i = 0; i < 200; i++) {
      if ((await readLocalTrail(join(dir, 'audit'))).length >= 12) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await gw.stop();

    const ok = capture();
    assert.equal(await runCli(['verify', '--config', file], ok), 0, ok.text());
    assert.match(ok.text(), /OK: the audit trail is intact/);
    const all = capture();
    assert.equal(await runCli(['verify', '--config', file, '--all-partitions'], all), 0, all.text());
    assert.match(all.text(), /partition writer-0: 12 documents[\s\S]*12 documents, every one in a chain partition\nOK: every partition is intact/);
    const both = capture();
    assert.equal(await runCli(['verify', '--config', file, '--all-partitions', '--partition', 'writer-0'], both), 2, both.text());
    assert.match(both.text(), /exclude each other/);

    // An analyst's (or attacker's) edit of one stored event must not go unnoticed.
    const auditDir = join(dir, 'audit');
    const day = readdirSync(auditDir).find((f) => f.endsWith('.jsonl'));
    assert.ok(day, 'the local store wrote a daily file');
    const path = join(auditDir, day);
    const lines = readFileSync(path, 'utf8').split('\n');
    const target = lines.findIndex((l) => l.includes('"http.get"'));
    lines[target] = lines[target]!.replace('"http.get"', '"http.delete"');
    writeFileSync(path, lines.join('\n'));
    const bad = capture();
    assert.equal(await runCli(['verify', '--config', file], bad), 1, bad.text());
    assert.match(bad.text(), /MODIFIED/);
  });

  it('verify - right after a burst the trail is an UNVERIFIED TAIL (exit 3) until the idle checkpoint lands (exit 0); a tail cut right after the last event fails (exit 1)', async () => {
    const base = join(dir, 'tail');
    const file = join(dir, 'tail.yaml');
    writeFileSync(
      file,
      [
        'bus:',
        `  dataDir: ${join(base, 'data')}`,
        'audit:',
        '  sinks:',
        `    - { type: local, path: ${join(base, 'audit')} }`,
        '  checkpoint: { everyEvents: 100000, everySeconds: 3600, idleMs: 3000 }',
        '  batch: { maxEvents: 8, maxBytes: 1048576, maxWaitMs: 20 }',
        '',
      ].join('\n'),
    );
    const gw = await startGateway(loadConfig({ path: file, env: {} }), { only: ['audit-writer'] });
    try {
      const burst = async (n: number, total: number) => {
        for (let i = 0; i < n; i++) {
          const event = buildActionEvent({ phase: 'requested', principal, action: { id: newEventId(), kind: 'http.get', connection: 'api' } });
          await gw.bus.streams.publish(cleanSubject(event), encodeEvent(event), { msgId: eventMsgId(event) });
        }
        for (let i = 0; i < 400 && (await readLocalTrail(join(base, 'audit'))).length < total; i++) await new Promise((r) => setTimeout(r, 25));
      };
      await burst(30, 30);
      const early = capture();
      assert.equal(await runCli(['verify', '--config', file], early), 3, early.text());
      assert.match(early.text(), /^UNVERIFIED TAIL 30 events/m);
      assert.doesNotMatch(early.text(), /^OK/m);

      let code = -1;
      const until = Date.now() + 15_000;
      let late = capture();
      while (code !== 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 250));
        late = capture();
        code = await runCli(['verify', '--config', file], late);
      }
      assert.equal(code, 0, late.text());
      assert.match(late.text(), /signed checkpoint at 30, chain head on the bus at 30/);

      // Ten more, and the newest three deleted from the store as soon as they are there.
      await burst(10, 40);
      const auditDir = join(base, 'audit');
      for (const f of readdirSync(auditDir).filter((n) => n.startsWith('audit-'))) {
        const kept = readFileSync(join(auditDir, f), 'utf8')
          .split('\n')
          .filter((l) => l && JSON.parse(l).doc.event.sequence <= 37);
        writeFileSync(join(auditDir, f), kept.map((l) => `${l}\n`).join(''));
      }
      const cut = capture();
      assert.equal(await runCli(['verify', '--config', file], cut), 1, cut.text());
      assert.match(cut.text(), /TRUNCATED seq=38: trail ends at 37; .*\(3 missing\)/);
    } finally {
      await gw.stop();
    }
  });
});
