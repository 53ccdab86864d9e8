import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { searchTrail } from '@agentgate/audit-writer';
import { type Bus, createBus } from '@agentgate/bus';
import { runCli } from '@agentgate/cli';
import { loadConfig } from '@agentgate/config';
import { freePort, type NatsServer, type OpenSearchNode, startNats, startOpenSearch } from '@agentgate/testkit';
// The demo's pieces are internal to the CLI package (its public API is the command); imported by path.
import { demoTrailComplete, sessionOf, waitForTrail } from '../../packages/cli/src/commands/demo.js';
import { buildTrail } from '../../packages/cli/src/commands/trail.js';
import { type DemoWorld, demoConfigText, playDemoSession, startDemoWorld } from '@agentgate/demo';
import { portOpen, type ServiceChild, stopChildren } from './service-processes.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SERVICES = ['audit-writer', 'masking', 'identity', 'secret-broker', 'proxy'];

let nats: NatsServer;
let os: OpenSearchNode;
let w: DemoWorld;
let bus: Bus;
const children: ServiceChild[] = [];

before(async () => {
  [nats, os, w] = await Promise.all([startNats(), startOpenSearch(), startDemoWorld()]);
  bus = await createBus({ natsUrl: nats.url, name: 'e2e-demo' });
});

after(async () => {
  await stopChildren(children, bus, w, os, nats);
});

test('demo - multi-process over real NATS with OpenSearch: every service its own process, trail read back from OpenSearch', async () => {
  const port = await freePort();
  const file = join(w.dir.path, 'agentgate.yaml');
  writeFileSync(file, demoConfigText(w, { port, natsUrl: nats.url, opensearchUrl: os.url }));
  const config = loadConfig({ path: file, env: {} });
  for (const name of SERVICES) {
    const proc = spawn(process.execPath, ['--conditions=agentgate-source', '--import', 'tsx', join(ROOT, 'services', name, 'src', 'main.ts')], {
      cwd: ROOT,
      // Only the broker needs the brokered values; every process gets the config file.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, AGENTGATE_CONFIG: file, ...(name === 'secret-broker' ? w.secretEnv : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: string[] = [];
    proc.stdout?.on('data', (c) => log.push(String(c)));
    proc.stderr?.on('data', (c) => log.push(String(c)));
    children.push({ name, proc, log });
  }
  const until = Date.now() + 90_000;
  while (!(await portOpen(port))) {
    const dead = children.find((c) => c.proc.exitCode !== null);
    assert.ok(!dead, `${dead?.name} exited: ${dead?.log.join('').slice(-2000)}`);
    assert.ok(Date.now() < until, `the proxy did not listen within 90 s: ${children.map((c) => `${c.name}: ${c.log.join('').slice(-400)}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const narration: string[] = [];
  const session = await playDemoSession(w, `http://127.0.0.1:${port}`, (l) => narration.push(l));
  assert.equal(session.pushExit, 0, narration.join('\n'));
  assert.notEqual(session.forcePushExit, 0);
  assert.match(session.forcePushError, /force-push denied by rule no-force-push-protected/);
  assert.equal(session.secretReachedModel, false);
  assert.equal(session.tokenReachedModel, false);
  const sessionId = await sessionOf(bus, session.token);
  const steps = await waitForTrail(config, sessionId, 60_000);
  assert.ok(demoTrailComplete(steps), JSON.stringify(steps, null, 1));
  const events = await searchTrail(config.audit.sinks[0] as Parameters<typeof searchTrail>[0], { sessionId, indexPrefix: config.audit.indexPrefix });
  const raw = JSON.stringify(events);
  assert.ok(!raw.includes(w.dbPassword), 'the pasted password is not in the trail');
  for (const v of Object.values(w.secretEnv)) assert.ok(!raw.includes(v), 'no brokered value is in the trail');
  const byKind = buildTrail(events);
  const force = byKind.find((s) => s.kind === 'git.force_push');
  const forceExchange = byKind.find((s) => s.toolCalls?.some((c) => c.id === 'call_force'));
  assert.deepEqual(force?.link && { id: force.link.exchangeId, call: force.link.toolCallId, rule: force.link.rule }, {
    id: forceExchange?.actionId,
    call: 'call_force',
    rule: 'tool-call-match',
  });
  assert.equal(force?.decision?.rule, 'no-force-push-protected');
  const out: string[] = [];
  const code = await runCli(['trail', sessionId, '--config', file], { out: (l) => out.push(l), err: (l) => out.push(l) });
  assert.equal(code, 0, out.join('\n'));
  assert.match(out.join('\n'), /git\.force_push refs\/heads\/main \(force-push\)\s+DENIED \(rule no-force-push-protected\)/);
  const json: string[] = [];
  assert.equal(await runCli(['trail', sessionId, '--config', file, '--json'], { out: (l) => json.push(l), err: () => {} }), 0);
  assert.equal((JSON.parse(json[0] ?? '{}') as { steps: unknown[] }).steps.length, byKind.length);
  assert.equal(await runCli(['trail', 'no-such-session', '--config', file], { out: () => {}, err: () => {} }), 1);
});
