import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Bus, createBus } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import { type IdentityService, startIdentityService } from '@agentgate/identity';
import { createLogger } from '@agentgate/log';
import { type ProxyHandle, startProxy } from '@agentgate/proxy';
import { type SecretBroker, startSecretBroker } from '@agentgate/secret-broker';
import { type CiIssuer, githubClaims, type NatsServer, startCiIssuer, startNats } from '@agentgate/testkit';
import { type Output, runCli } from '../src/index.js';

function capture(): Output & { text(): string } {
  const lines: string[] = [];
  return { out: (l) => lines.push(l), err: (l) => lines.push(l), text: () => lines.join('\n') };
}

let nats: NatsServer;
let bus: Bus;
let issuer: CiIssuer;
let identity: IdentityService;
let broker: SecretBroker;
let proxy: ProxyHandle;
let upstream: Server;
let upstreamHits = 0;
let requester: string;
let approver: string;
let outsider: string;

before(async () => {
  nats = await startNats();
  issuer = await startCiIssuer({ alg: 'RS256' });
  upstream = createServer((req, res) => {
    upstreamHits++;
    req.resume();
    res.end('done');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  const config = loadConfig({
    env: {},
    text: `
identity:
  issuers:
    - { name: gh, issuer: ${issuer.issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
  groups:
    - { name: agents, when: { repository_owner: acme } }
    - { name: approvers, when: { repository_owner: ops } }
connections:
  - { name: api, type: http, upstream: http://127.0.0.1:${port} }
policy:
  default: deny
  rules:
    - { name: deploy-review, actions: ['http.*'], decision: review, reason: deploys need a human }
approvals:
  timeoutMs: 20000
  approverGroups: [approvers]
`,
  });
  bus = await createBus({ natsUrl: nats.url, name: 'cli-approvals-test' });
  identity = await startIdentityService(bus, config.identity);
  // http responses are masked with every brokered secret by default: the proxy asks the broker for them.
  broker = await startSecretBroker(bus, config, undefined, { env: {} });
  const logger = createLogger({ name: 'proxy', level: 'warn', destination: { write: () => {} } });
  proxy = await startProxy(bus, config, logger, { host: '127.0.0.1', port: 0 });
  requester = await issuer.mint(githubClaims({ repository: 'acme/app' }));
  // Another human than the requester (four eyes compares the actor too).
  approver = await issuer.mint(githubClaims({ repository: 'ops/console', run_id: '7000000555', actor: 'ops-lead', actor_id: '900002' }));
  outsider = await issuer.mint(githubClaims({ repository: 'acme/other', run_id: '7000000666', actor: 'someone', actor_id: '900003' }));
});

after(async () => {
  await proxy?.close();
  await broker?.stop();
  await identity?.stop();
  await bus?.close();
  await new Promise((r) => upstream?.close(r));
  await issuer?.close();
  await nats?.close();
});

/** Sends the agent's request; resolves with the status once the gateway answers. */
function agentRequest(payload = '{}'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${requester}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
    const req = request(`${proxy.url}/api/deploy`, { method: 'POST', headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function pendingId(): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const io = capture();
    assert.equal(await runCli(['approvals', 'list', '--gateway', proxy.url, '--token', approver, '--json'], io), 0);
    const list = (JSON.parse(io.text()) as { approvals: Array<{ id: string }> }).approvals;
    if (list[0]) return list[0].id;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no pending approval appeared');
}

describe('cli approvals', () => {
  it('approvals - approve through runCli releases the held request', async () => {
    const held = agentRequest();
    const id = await pendingId();
    assert.equal(upstreamHits, 0, 'nothing reaches the upstream while held');

    const shown = capture();
    assert.equal(await runCli(['approvals', 'show', id, '--gateway', proxy.url], shown), 2, 'no token is a usage error');
    const show = capture();
    process.env['AGENTGATE_TOKEN'] = approver;
    try {
      assert.equal(await runCli(['approvals', 'show', id, '--gateway', proxy.url], show), 0);
    } finally {
      delete process.env['AGENTGATE_TOKEN'];
    }
    assert.match(show.text(), /status: +pending/);
    assert.match(show.text(), /rule: +deploy-review \(deploys need a human\)/);
    // What is approved: the request line, the safe headers, the body's digest and its masked preview.
    assert.match(show.text(), /request: +POST \/deploy\n/);
    assert.match(show.text(), /\n {2}content-type: application\/json\n/);
    assert.ok(!show.text().includes('authorization'), 'credentials are never shown');
    assert.match(show.text(), new RegExp(`body: +2 bytes, sha256 ${createHash('sha256').update('{}').digest('hex')}`));
    assert.match(show.text(), /masked preview ---\n {2}\{\}\n {2}---/);
    assert.match(show.text(), /binding: +sha256 [0-9a-f]{64}/);
    assert.match(show.text(), /policy: +[0-9a-f]{64}/);
    assert.match(show.text(), /requester: .* actor=octocat/);

    const denied = capture();
    assert.equal(await runCli(['approvals', 'approve', id, '--gateway', proxy.url, '--token', outsider], denied), 1);
    assert.match(denied.text(), /^ERR_APPROVER_FORBIDDEN: /);
    assert.ok(!denied.text().includes(outsider), 'the token is never printed');

    const io = capture();
    assert.equal(await runCli(['approvals', 'approve', id, '--reason', 'ship it', '--gateway', proxy.url, '--token', approver], io), 0);
    assert.equal(io.text(), `approved: ${id}`);
    const res = await held;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'done');
    assert.equal(upstreamHits, 1);

    const again = capture();
    assert.equal(await runCli(['approvals', 'reject', id, '--gateway', proxy.url, '--token', approver], again), 1);
    assert.match(again.text(), /^ERR_APPROVAL_DECIDED: /);
  });

  it('approvals - reject through runCli refuses the held request with the reason', async () => {
    // A body that tries to hide a line from the approver's terminal with a carriage return.
    const held = agentRequest('{"a":"drop prod"}\r{"a":"noop"}     ');
    const id = await pendingId();
    const show = capture();
    assert.equal(await runCli(['approvals', 'show', id, '--gateway', proxy.url, '--token', approver], show), 0);
    assert.ok(!show.text().includes('\r'), 'no raw control character reaches the terminal');
    assert.match(show.text(), /\{"a":"drop prod"\}\\u000d\{"a":"noop"\}/);
    const io = capture();
    assert.equal(await runCli(['approvals', 'reject', id, '--reason', 'not now', '--gateway', proxy.url, '--token', approver], io), 0);
    const res = await held;
    assert.equal(res.status, 403);
    assert.match(res.body, /ERR_APPROVAL_REJECTED/);
    assert.match(res.body, /not now/);
    assert.equal(upstreamHits, 1);
  });

  it('approvals - usage errors and an unreachable gateway have clear messages and exit codes', async () => {
    const a = capture();
    assert.equal(await runCli(['approvals', 'approve', '--gateway', proxy.url, '--token', approver], a), 2);
    assert.match(a.text(), /usage: agentgate approvals/);
    const b = capture();
    assert.equal(await runCli(['approvals', 'list', '--token', approver], b), 2);
    assert.match(b.text(), /--gateway URL is required/);
    const c = capture();
    assert.equal(await runCli(['approvals', 'list', '--gateway', 'http://127.0.0.1:1', '--token', approver], c), 1);
    assert.match(c.text(), /^ERR_GATEWAY_UNREACHABLE: cannot reach the gateway/);
  });
});
