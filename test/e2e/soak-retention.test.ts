import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '@agentgate/config';
import { type AuditEvent, STREAMS } from '@agentgate/events';
import { type CiIssuer, freePort, githubClaims, type NatsServer, startCiIssuer, startNats } from '@agentgate/testkit';
// The one-process runner is internal to the CLI package (its public API is the command); imported by path.
import { type Gateway, startGateway } from '../../packages/cli/src/commands/start.js';

/**
 * Issue 13 item 1: the raw and clean streams hold only what the masking service and the audit writer
 * have not processed yet, so far more events than a stream's limit flow through a gateway that keeps
 * serving, and every event reaches the sink exactly once.
 */

const STREAM_MAX_MSGS = 300;
const REQUESTS = 1500; // 3000 raw events (intent + outcome): ten times the limit
const CONCURRENCY = 8;

let nats: NatsServer;
let issuer: CiIssuer;
let upstream: Server;
let gw: Gateway;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agentgate-soak-'));
  [nats, issuer] = await Promise.all([startNats(), startCiIssuer({ alg: 'RS256' })]);
  upstream = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const config = loadConfig({
    text: `
gateway:
  name: soak
  listen: { host: 127.0.0.1, port: ${await freePort()} }
bus:
  natsUrl: ${nats.url}
  dataDir: ${dir}/data
  streams: { maxMsgs: ${STREAM_MAX_MSGS} }
identity:
  issuers:
    - { name: gh, issuer: ${issuer.issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
connections:
  - { name: api, type: http, upstream: http://127.0.0.1:${(upstream.address() as AddressInfo).port}, credential: { ref: api-token, inject: bearer } }
secrets:
  - { ref: api-token, source: env, env: SOAK_API_TOKEN }
policy:
  default: deny
  rules:
    - { name: ok, actions: ['http.*'], decision: allow }
audit:
  sinks: [{ type: local, path: ${dir}/audit }]
  batch: { maxEvents: 100, maxWaitMs: 100 }
log: { level: warn }
`,
    env: {},
  });
  process.env['SOAK_API_TOKEN'] = 'soak-upstream-credential';
  gw = await startGateway(config);
});

after(async () => {
  await gw?.stop();
  await new Promise((r) => upstream?.close(r));
  await issuer?.close();
  await nats?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every event in the local store, by line (a redelivery would show up twice). */
function sinkEvents(path: string): AuditEvent[] {
  if (!existsSync(path)) return [];
  const out: AuditEvent[] = [];
  for (const f of readdirSync(path).filter((n) => n.startsWith('audit-') && n.endsWith('.jsonl'))) {
    for (const line of readFileSync(join(path, f), 'utf8').split('\n')) if (line) out.push((JSON.parse(line) as { doc: AuditEvent }).doc);
  }
  return out;
}

test('soak - ten times more events than the stream limit flow through proxy → masking → writer: the gateway keeps serving, every event indexed exactly once', async () => {
  assert.ok(gw.url, 'the proxy runs in this process');
  const token = await issuer.mint(githubClaims({ repository: 'acme/app' }));
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const get = (i: number): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request(`${gw.url}/api/soak/${i}`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  const statuses: Record<number, number> = {};
  let maxRawFill = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < REQUESTS) {
      const i = next++;
      const r = await get(i);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (i % 100 === 0) maxRawFill = Math.max(maxRawFill, (await gw.bus.streams.fill(STREAMS.AUDIT_RAW.name)).ratio);
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (Date.now() - t0) / 1000;
  agent.destroy();
  // An outcome event may still be on its way when its response has ended (outcomes linger up to 2 ms to share a write).
  let raw = await gw.bus.streams.info(STREAMS.AUDIT_RAW.name);
  for (let i = 0; i < 50 && raw.lastSeq < 2 * REQUESTS; i++) {
    await new Promise((r) => setTimeout(r, 100));
    raw = await gw.bus.streams.info(STREAMS.AUDIT_RAW.name);
  }
  console.log(
    `soak: ${REQUESTS} requests in ${seconds.toFixed(1)} s, statuses ${JSON.stringify(statuses)}, raw last seq ${raw.lastSeq}, max raw fill seen ${maxRawFill}`,
  );

  assert.deepEqual(statuses, { 200: REQUESTS }, 'every request served: the streams never filled up');
  assert.ok(raw.lastSeq >= 2 * REQUESTS, `${raw.lastSeq} events went through AUDIT_RAW, which holds at most ${STREAM_MAX_MSGS}`);

  // Everything indexed, exactly once, and nothing left behind in the streams.
  const audit = join(dir, 'audit');
  let events: AuditEvent[] = [];
  for (let i = 0; i < 120; i++) {
    events = sinkEvents(audit);
    if (events.length >= 2 * REQUESTS) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const ids = events.map((e) => e.event.id);
  assert.equal(new Set(ids).size, ids.length, 'no event indexed twice');
  const phases = (phase: string): Set<string> => new Set(events.filter((e) => e.agentgate.action.phase === phase).map((e) => e.url?.path ?? ''));
  for (const phase of ['requested', 'completed']) {
    const seen = phases(phase);
    const missing = Array.from({ length: REQUESTS }, (_, i) => `/api/soak/${i}`).filter((p) => !seen.has(p));
    assert.deepEqual(missing, [], `every ${phase} event indexed`);
  }
  assert.equal(events.length, 2 * REQUESTS);
  for (const name of [STREAMS.AUDIT_RAW.name, STREAMS.AUDIT_CLEAN.name]) {
    const info = await gw.bus.streams.info(name);
    assert.equal(info.messages, 0, `${name} holds nothing once everything is indexed`);
    assert.equal(info.retention, 'workqueue');
  }
  const spool = join(dir, 'data', 'spool');
  assert.equal(statSync(spool).mode & 0o777, 0o700, 'the outcome spool directory is owner-only');
});
