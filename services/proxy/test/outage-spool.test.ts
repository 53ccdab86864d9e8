import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '@agentgate/config';
import { type AuditEvent, decodeEvent, STREAMS } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { type CiIssuer, githubClaims, type NatsServer, startCiIssuer, startNats } from '@agentgate/testkit';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { INTENT_UNACKED } from '../src/pipeline/record.js';
import { type Backends, startBackends } from './backends.js';

/**
 * nats-server killed under load (issue 13 item 2): every request that reached the upstream must end up
 * with its outcome event in the stream once NATS is back, although the outcome happened while NATS was gone.
 */

const RATE = 150; // requests per second
const LOAD_BEFORE_MS = 2000;
const OUTAGE_MS = Number(process.env['AGENTGATE_OUTAGE_MS'] ?? 8000);
const LOAD_AFTER_MS = 3000;
const UPSTREAM_DELAY_MS = 150; // so that ~20 requests are between intent and outcome when NATS dies

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Slow {
  url: string;
  hits: Set<number>;
  close(): Promise<void>;
}

/** An upstream that answers every `/n/<i>` after a delay and notes `i`. */
async function startSlowUpstream(): Promise<Slow> {
  const hits = new Set<number>();
  const server: Server = createServer((req, res) => {
    const m = /\/n\/(\d+)$/.exec(req.url ?? '');
    if (m) hits.add(Number(m[1]));
    req.resume();
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('done');
    }, UPSTREAM_DELAY_MS);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('nats-server killed under load: outcomes are spooled and replayed, none lost', () => {
  let nats: NatsServer;
  let issuer: CiIssuer;
  let upstream: Slow;
  let backends: Backends;
  let proxy: ProxyHandle;
  let dir: string;
  const logs: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agentgate-spool-'));
    [nats, issuer, upstream] = await Promise.all([startNats(), startCiIssuer({ alg: 'RS256' }), startSlowUpstream()]);
    const config = loadConfig({
      text: `
gateway:
  name: spool-gateway
  audit: { ackTimeoutMs: 1500 }
bus: { dataDir: ${dir} }
identity:
  issuers:
    - { name: gh, issuer: ${issuer.issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
connections:
  - { name: api, type: http, upstream: ${upstream.url}, credential: { ref: api-token, inject: bearer } }
secrets:
  - { ref: api-token, source: env, env: SPOOL_TEST_TOKEN }
policy:
  default: deny
  rules:
    - { name: ok, actions: ['http.*'], decision: allow }
`,
      env: {},
    });
    backends = await startBackends({ natsUrl: nats.url, name: 'spool-test' }, config, { SPOOL_TEST_TOKEN: 'upstream-credential-value' });
    const logger = createLogger({ name: 'proxy', level: 'info', destination: { write: (s: string) => void logs.push(s) } });
    proxy = await startProxy(backends.bus, config, logger, { host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await proxy?.close();
    await backends?.stop();
    await upstream?.close();
    await issuer?.close();
    await nats?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test(`outage - nats-server killed for ${OUTAGE_MS / 1000} s under ${RATE} req/s: every request the upstream saw has its intent and exactly one outcome event`, async () => {
    const token = await issuer.mint(githubClaims({ repository: 'acme/app' }));
    const agent = new Agent({ keepAlive: true, maxSockets: 256 });
    const status = new Map<number, number | 'error'>();
    const inflight = new Set<Promise<void>>();
    const send = (i: number): void => {
      const p = new Promise<void>((resolve) => {
        const req = request(`${proxy.url}/api/n/${i}`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
          res.resume();
          res.on('end', () => {
            status.set(i, res.statusCode ?? 0);
            resolve();
          });
          res.on('error', () => {
            status.set(i, 'error');
            resolve();
          });
        });
        req.on('error', () => {
          status.set(i, 'error');
          resolve();
        });
        req.end();
      }).finally(() => inflight.delete(p));
      inflight.add(p);
    };
    // Warm the identity and lease caches, so during the outage only the audit stream decides.
    let n = 0;
    send(n++);
    await Promise.all([...inflight]);
    assert.equal(status.get(0), 200);

    let stop = false;
    const load = (async () => {
      const started = Date.now();
      while (!stop) {
        const due = Math.floor(((Date.now() - started) / 1000) * RATE);
        while (n - 1 < due) send(n++);
        await sleep(5);
      }
    })();
    const t0 = Date.now();
    const mark = (what: string): void => console.log(`${what} at ${Date.now() - t0} ms`);
    await sleep(LOAD_BEFORE_MS);
    await nats.kill();
    mark('killed');
    await sleep(OUTAGE_MS);
    await nats.start();
    mark('restarted');
    await sleep(LOAD_AFTER_MS);
    stop = true;
    await load;
    mark('load stopped');
    await Promise.all([...inflight]);
    mark('all answered');
    agent.destroy();

    // Let the spool replay: until readiness reports it empty (when the proxy has one) and the stream stops growing.
    const spooled = async (): Promise<number> => {
      const r = await fetch(`${proxy.url}/_agentgate/readyz`);
      const body = (await r.json()) as { audit?: { spool?: { events: number } } };
      return body.audit?.spool?.events ?? 0;
    };
    const stored = async (): Promise<number> => (await backends.bus.streams.info(STREAMS.AUDIT_RAW.name)).messages;
    for (let i = 0, last = -1; i < 60; i++) {
      const now = await stored();
      const sp = await spooled();
      if (now === last && sp === 0) break;
      last = now;
      await sleep(1000);
    }
    mark('settled');
    // Read through a consumer in batches (no ack: nothing leaves the stream); one get per message is slow on a busy machine.
    const reader = await backends.bus.streams.consumer(STREAMS.AUDIT_RAW.name, { durable: 'outage-test-reader', ackWaitMs: 600_000, maxAckPending: 100_000 });
    const events: AuditEvent[] = [];
    for (let total = await stored(); events.length < total; ) {
      const got = await reader.fetch({ batch: 1000, expiresMs: 2000 });
      if (got.length === 0) break;
      for (const m of got) events.push(decodeEvent(m.data));
    }
    mark('read');
    const spoolLogs = logs.filter((l) => /spool/.test(l)).map((l) => (JSON.parse(l) as { msg: string }).msg);
    console.log(`spool log lines: ${JSON.stringify([...new Set(spoolLogs)])} (${spoolLogs.length})`);

    const pathOf = (p: string | undefined): number => Number(/\/n\/(\d+)$/.exec(p ?? '')?.[1]);
    const byPhase = (phase: string): number[] => events.filter((e) => e.agentgate.action.phase === phase).map((e) => pathOf(e.url?.path));
    const requested = byPhase('requested');
    const completed = byPhase('completed');
    const failed = byPhase('failed');
    const outcomes = [...completed, ...failed];
    const ok = [...status].filter(([, s]) => s === 200).map(([i]) => i);
    const refused = [...status].filter(([, s]) => s === 503).length;
    const counts = {
      requests: status.size,
      ok200: ok.length,
      refused503: refused,
      other: status.size - ok.length - refused,
      upstreamHits: upstream.hits.size,
      requestedEvents: requested.length,
      completedEvents: completed.length,
      failedEvents: failed.length,
      unackedIntentOutcomes: events.filter((e) => e.event.reason === INTENT_UNACKED).length,
    };
    console.log(`kill-under-load counts: ${JSON.stringify(counts)}`);
    const statuses: Record<string, number> = {};
    for (const v of status.values()) statuses[String(v)] = (statuses[String(v)] ?? 0) + 1;
    const reasons = [...new Set(events.filter((e) => e.agentgate.action.phase === 'failed').map((e) => e.event.reason))];
    console.log(`statuses ${JSON.stringify(statuses)}; failure reasons ${JSON.stringify(reasons)}`);

    const missing = (want: number[], have: number[]): number[] => {
      const h = new Set(have);
      return want.filter((i) => !h.has(i));
    };
    assert.ok(refused > 0, 'the outage refused requests (no record, no action)');
    assert.deepEqual(missing([...upstream.hits], requested), [], 'every request the upstream saw has its intent event');
    assert.deepEqual(missing([...upstream.hits], outcomes), [], 'every request the upstream saw has its outcome event');
    assert.deepEqual(missing(ok, completed), [], 'every 200 the client got has its completed event');
    assert.equal(new Set(outcomes).size, outcomes.length, 'one outcome per request, no duplicate');
    assert.equal(new Set(events.map((e) => e.event.id)).size, events.length, 'no event stored twice');
    // An intent NATS stored before dying unacknowledged: the request was refused, and the trail says so.
    assert.deepEqual(missing(requested, outcomes), [], 'every intent on the record has its outcome');
    const unacked = events.filter((e) => e.event.reason === INTENT_UNACKED).map((e) => pathOf(e.url?.path));
    assert.ok(
      unacked.every((i) => status.get(i) === 503 && !upstream.hits.has(i)),
      'an outcome "intent not acknowledged" only for requests refused before the upstream',
    );
    // The rest had their intent stored and failed before the upstream (e.g. unreachable on a loaded machine): a refusal the client saw.
    const beyond = outcomes.filter((i) => !upstream.hits.has(i));
    assert.ok(
      beyond.every((i) => failed.includes(i) && status.get(i) !== 200),
      'an outcome of a request the upstream never saw is a failure, and the client got no 200',
    );
    assert.equal(outcomes.length - beyond.length, upstream.hits.size, 'requests that reached the upstream = their outcome events');
  });
});
