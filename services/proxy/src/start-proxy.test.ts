import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createBus } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { startProxy } from './start-proxy.js';

test('start-up - a policy that compiles but cannot mean what it says starts, with a warning naming each key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-lint-'));
  const lines: Array<{ level: string; msg: string; path?: string }> = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  const config = loadConfig({
    path: join(dir, 'agentgate.yaml'),
    env: {},
    text: [
      'connections:',
      '  - { name: gh, type: git, upstream: https://git.example, options: { protectedRefs: [refs/tags/*] } }',
      'policy:',
      '  rules:',
      '    - { name: tags, connections: [gh], actions: [git.tag_mvoe], decision: deny }',
      "    - { name: git, connections: [gh], actions: ['git.*'], decision: allow }",
      '',
    ].join('\n'),
  });
  const bus = await createBus({ dataDir: join(dir, 'bus') });
  const proxy = await startProxy(bus, config, createLogger({ name: 'test', level: 'warn', destination }), { port: 0 });
  try {
    const warned = lines.filter((l) => l.level === 'warn' && l.msg.startsWith('configuration: '));
    assert.deepEqual(
      warned.map((l) => l.path),
      ['policy.rules[0].actions[0]', 'connections[0].options.protectedRefs'],
    );
    assert.match(warned[0]!.msg, /"git\.tag_mvoe" names no action kind of any adapter \(did you mean "git\.tag_move"\?\)/);
  } finally {
    await proxy.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
