import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, checkConfig, formatConfigErrors, loadConfig } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'agentgate-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const EXAMPLE = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../agentgate.example.yaml');

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('config files - the shipped agentgate.example.yaml is valid', () => {
  const c = loadConfig({ path: EXAMPLE, env: {} });
  assert.ok(c.connections.length >= 1);
  assert.equal(c.policy.default, 'deny');
  const r = checkConfig(EXAMPLE, { env: {} });
  assert.equal(r.ok, true);
  if (r.ok) {
    assert.equal(r.summary.listen, '127.0.0.1:8080');
    assert.equal(r.summary.bus, 'inproc');
  }
});

test('config files - path from AGENTGATE_CONFIG, else ./agentgate.yaml', () => {
  const p = write('from-env.yaml', 'gateway: { listen: { port: 7070 } }\n');
  assert.equal(loadConfig({ env: { AGENTGATE_CONFIG: p } }).gateway.listen.port, 7070);
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    write('agentgate.yaml', 'gateway: { listen: { port: 7171 } }\n');
    assert.equal(loadConfig({ env: {} }).gateway.listen.port, 7171);
  } finally {
    process.chdir(cwd);
  }
});

test('config files - a missing file is ERR_CONFIG_NOT_FOUND naming the path', () => {
  const p = join(dir, 'nope.yaml');
  assert.throws(
    () => loadConfig({ path: p, env: {} }),
    (err: unknown) => err instanceof ConfigError && err.code === 'ERR_CONFIG_NOT_FOUND' && err.message.includes(p),
  );
  const r = checkConfig(p, { env: {} });
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.code, 'ERR_CONFIG_NOT_FOUND');
});

test('config files - a YAML syntax error is ERR_CONFIG_PARSE with the line', () => {
  const p = write('broken.yaml', 'gateway:\n  listen:\n    port: 8080\n  limits: [1, 2\nlog: { level: info }\n');
  try {
    loadConfig({ path: p, env: {} });
    assert.fail('expected ERR_CONFIG_PARSE');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'ERR_CONFIG_PARSE');
    assert.ok(err.issues[0]?.line !== undefined && err.issues[0].line >= 4, JSON.stringify(err.issues));
    assert.match(err.message, /line \d+, column \d+/);
  }
  const dup = write('dup.yaml', 'log: { level: info }\nlog: { level: debug }\n');
  assert.throws(
    () => loadConfig({ path: dup, env: {} }),
    (err: unknown) => err instanceof ConfigError && err.code === 'ERR_CONFIG_PARSE' && err.issues[0]?.line === 2,
  );
});

test('config files - checkConfig reports every bad key with its line; formatConfigErrors prints them', () => {
  const p = write(
    'bad.yaml',
    ['connections:', '  - name: a', '    type: http', '    upstrem: https://x', 'policy:', '  rules:', '    - { name: r, decision: maybe }', ''].join('\n'),
  );
  const r = checkConfig(p, { env: { PORT: 'x' } });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.code, 'ERR_CONFIG_INVALID');
  const byPath = new Map(r.errors.map((e) => [e.path, e]));
  assert.equal(byPath.get('connections[0].upstrem')?.line, 4);
  assert.equal(byPath.get('policy.rules[0].decision')?.line, 7);
  assert.ok(byPath.has('PORT'));
  const text = formatConfigErrors(r.errors, p);
  assert.match(text, /connections\[0\]\.upstrem: unknown key \(.*bad\.yaml:4\)/);
  assert.match(text, /policy\.rules\[0\]\.decision: expected one of allow\|deny\|review/);
});
