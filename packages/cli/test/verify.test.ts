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
});
