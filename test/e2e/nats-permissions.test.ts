import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Bus, createBus } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import { freePort, type NatsServer, type OpenSearchNode, startNats, startOpenSearch } from '@agentgate/testkit';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
// The demo's pieces are internal to the CLI package (its public API is the command); imported by path.
import { demoTrailComplete, sessionOf, waitForTrail } from '../../packages/cli/src/commands/demo.js';
import { type DemoWorld, demoConfigText, playDemoSession, startDemoWorld } from '@agentgate/demo';
import { portOpen, type ServiceChild, stopChildren } from './service-processes.js';

/**
 * The Helm chart's NATS users (ConfigMap <release>-nats-authorization, the permissions of
 * deploy/nats/permissions.md) on a real nats-server: the five services, each its own process
 * with its own user, password and inbox prefix as the chart configures them, play the demo
 * session end to end; and the users are really confined (the masking user cannot lease a
 * secret, the proxy user cannot listen on secrets.>).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SERVICES = ['audit-writer', 'masking', 'identity', 'secret-broker', 'proxy'];
const passwords = Object.fromEntries(SERVICES.map((s) => [s, randomBytes(12).toString('hex')]));
const envName = (s: string) => `${s.toUpperCase().replace('-', '_')}_NATS_PASSWORD`;

let nats: NatsServer;
let os: OpenSearchNode;
let w: DemoWorld;
let admin: Bus;
const children: ServiceChild[] = [];

/** The chart's authorization block, the e2e test's own unrestricted user added. */
function renderedAuthorization(): string {
  const rendered = execFileSync('helm', ['template', 'ag', join(ROOT, 'deploy/helm/agentgate')], { encoding: 'utf8' });
  const cm = parseAllDocuments(rendered)
    .map((d) => d.toJS() as { metadata?: { name?: string }; data?: Record<string, string> } | null)
    .find((d) => d?.metadata?.name === 'ag-nats-authorization');
  const conf = cm?.data?.['authorization.conf'];
  assert.ok(conf, 'the chart renders the NATS authorization');
  return conf.replace('users = [', 'users = [\n    { user: e2e, password: e2e-pw }');
}

before(async () => {
  // nats-server resolves $<SERVICE>_NATS_PASSWORD from its environment; startNats passes its own, so set them here.
  for (const s of SERVICES) process.env[envName(s)] = passwords[s];
  [os, w] = await Promise.all([startOpenSearch(), startDemoWorld()]);
  const conf = join(w.dir.path, 'nats-authorization.conf');
  writeFileSync(conf, renderedAuthorization());
  nats = await startNats({ args: ['-c', conf] });
  process.env['E2E_NATS_PASSWORD'] = 'e2e-pw';
  admin = await createBus({ natsUrl: nats.url, nats: { user: 'e2e', passwordEnv: 'E2E_NATS_PASSWORD' }, name: 'e2e' });
});

after(async () => {
  await stopChildren(children, admin, w, os, nats);
});

test("nats permissions - the chart's per-service users, passwords and inbox prefixes carry the whole demo session over real NATS", async () => {
  const port = await freePort();
  const base = parseYaml(demoConfigText(w, { port, natsUrl: nats.url, opensearchUrl: os.url })) as { bus: Record<string, unknown> };
  for (const name of SERVICES) {
    // What the chart's agentgate.serviceConfig sets for this service.
    const file = join(w.dir.path, `agentgate-${name}.yaml`);
    writeFileSync(
      file,
      stringify({
        ...base,
        bus: { ...base.bus, nats: { user: name, passwordEnv: 'AGENTGATE_NATS_PASSWORD', inboxPrefix: `_INBOX_${name.replace('-', '_')}` } },
      }),
    );
    const proc = spawn(process.execPath, ['--conditions=agentgate-source', '--import', 'tsx', join(ROOT, 'services', name, 'src', 'main.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        AGENTGATE_CONFIG: file,
        AGENTGATE_NATS_PASSWORD: passwords[name],
        ...(name === 'secret-broker' ? w.secretEnv : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: string[] = [];
    proc.stdout?.on('data', (c) => log.push(String(c)));
    proc.stderr?.on('data', (c) => log.push(String(c)));
    children.push({ name, proc, log });
  }
  const logs = () => children.map((c) => `${c.name}: ${c.log.join('').slice(-600)}`).join('\n');
  const until = Date.now() + 120_000;
  while (!(await portOpen(port))) {
    const dead = children.find((c) => c.proc.exitCode !== null);
    assert.ok(!dead, `${dead?.name} exited: ${dead?.log.join('').slice(-2000)}`);
    assert.ok(Date.now() < until, `the proxy did not listen within 120 s:\n${logs()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const narration: string[] = [];
  const session = await playDemoSession(w, `http://127.0.0.1:${port}`, (l) => narration.push(l));
  assert.equal(session.pushExit, 0, `${narration.join('\n')}\n${logs()}`);
  assert.notEqual(session.forcePushExit, 0);
  assert.match(session.forcePushError, /force-push denied by rule no-force-push-protected/);
  assert.equal(session.secretReachedModel, false);
  const config = loadConfig({ path: join(w.dir.path, 'agentgate-proxy.yaml'), env: {} });
  const steps = await waitForTrail(config, await sessionOf(admin, session.token), 60_000);
  assert.ok(demoTrailComplete(steps), `${JSON.stringify(steps, null, 1)}\n${logs()}`);
  // Nobody was refused on the way: a permissions violation would be in a service's log.
  assert.doesNotMatch(logs(), /[Pp]ermissions? [Vv]iolation/, logs());
});

test('nats permissions - the masking user cannot lease a secret and the proxy user cannot listen on secrets.>', async () => {
  process.env['T_MASKING_PW'] = passwords['masking'];
  const masking = await createBus({
    natsUrl: nats.url,
    nats: { user: 'masking', passwordEnv: 'T_MASKING_PW', inboxPrefix: '_INBOX_masking' },
    name: 't-masking',
  });
  try {
    await assert.rejects(masking.requestRaw('secrets.lease', '{}', { timeoutMs: 2000 }));
  } finally {
    await masking.close().catch(() => {});
  }
  process.env['T_PROXY_PW'] = passwords['proxy'];
  const proxy = await createBus({ natsUrl: nats.url, nats: { user: 'proxy', passwordEnv: 'T_PROXY_PW', inboxPrefix: '_INBOX_proxy' }, name: 't-proxy' });
  try {
    let seen = 0;
    proxy.subscribe('secrets.lease', () => {
      seen++;
    });
    await new Promise((r) => setTimeout(r, 500));
    // The request reaches the real broker (the e2e user may publish anything); the proxy user's subscription gets nothing.
    await admin.requestRaw('secrets.lease', '{}', { timeoutMs: 5000 }).catch(() => {});
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(seen, 0);
  } finally {
    await proxy.close().catch(() => {});
  }
});
