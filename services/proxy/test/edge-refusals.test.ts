import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AuditEvent, validateEvent } from '@agentgate/events';
import { githubClaims } from '@agentgate/testkit';
import { rawHttp } from './harness.js';
import { type EdgeHarness, startEdgeHarness } from './edge-harness.js';

/**
 * Issue 11 item 6: refusals before authentication left no audit event, so a
 * SOC could not see a token-guessing run. They are recorded now as
 * `refused` events (ECS authentication failures), aggregated per source and
 * reason per window (1 s in this harness) so a flood cannot fill the stream.
 */
describe('edge - refusals before authentication are recorded, aggregated (in-process bus, real identity)', () => {
  let h: EdgeHarness;
  before(async () => {
    h = await startEdgeHarness();
  });
  after(async () => {
    await h?.close();
  });

  const head = (target: string, auth?: string, method = 'GET') =>
    `${method} ${target} HTTP/1.1\r\nHost: gw\r\n${auth ? `Authorization: ${auth}\r\n` : ''}Content-Length: 0\r\nConnection: close\r\n\r\n`;

  /** Waits until the refused events of this window are stored (the window is 1 s), then returns them all. */
  async function refusedEvents(atLeast: number): Promise<AuditEvent[]> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const evs = (await h.events()).filter((e) => e.agentgate.action.phase === 'refused');
      if (evs.length >= atLeast || Date.now() > deadline) return evs;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  test('refusals - a token-guessing run of N forged tokens is one authentication-failure event with count N, not N events', async () => {
    // A proxy of its own with a 2-minute window: the run fits in one window however loaded the machine is,
    // and closing the proxy records what it counted.
    const p = await h.extraProxy(120_000);
    const N = 60;
    // One token signed by a key the issuer never published, then N variants of its signature: N distinct guesses.
    const forged = await h.issuer.mint(githubClaims({ repository: 'acme/app' }), { signWith: 'foreign' });
    const tokens = Array.from(
      { length: N },
      (_, i) =>
        `${forged.slice(0, -6)}${Buffer.from(`g${String(i).padStart(3, '0')}`)
          .toString('base64url')
          .slice(0, 6)}`,
    );
    assert.equal(new Set(tokens).size, N);
    const seen = h.upstream.hits.length;
    const before = (await h.events()).length;
    for (const t of tokens) {
      const r = await rawHttp(p.port, head('/api/public/x', `Bearer ${t}`));
      assert.equal(r.status, 401);
    }
    // Against the approver API as well: counted under the same source and reason.
    for (let i = 0; i < 5; i++) assert.equal((await rawHttp(p.port, head('/_agentgate/approvals', `Bearer ${tokens[i]}`))).status, 401);
    assert.equal(h.upstream.hits.length, seen);
    assert.equal((await h.events()).length, before, 'nothing is recorded per request');
    await p.close();
    const evs = (await h.events()).slice(before);
    assert.equal(evs.length, 1, `one event for the run, got ${evs.length}`);
    const ev = validateEvent(evs[0]);
    assert.equal(ev.agentgate.action.phase, 'refused');
    assert.equal(ev.error?.code, 'ERR_AUTH_INVALID');
    assert.equal(ev.labels?.refusal_detail, 'ERR_TOKEN_SIGNATURE');
    assert.equal(ev.agentgate.refusal?.count, N + 5);
    assert.deepEqual(ev.event.category, ['authentication']);
    assert.deepEqual(ev.event.type, ['start']);
    assert.equal(ev.event.outcome, 'failure');
    assert.match(ev.event.reason ?? '', /token was refused/);
    assert.equal(ev.source?.ip, '127.0.0.1');
    assert.equal(ev.observer.name, 'edge-gateway');
    assert.ok(ev.event.start && ev.event.end && ev.event.start <= ev.event.end);
    assert.equal(ev.user, undefined, 'nobody was authenticated');
    assert.equal(ev.agentgate.action.connection, undefined, 'two routes: no single connection is named');
    for (const t of tokens) assert.ok(!JSON.stringify(ev).includes(t), 'a refused token is never recorded');
  });

  test('refusals - missing tokens, unknown connections, bad targets, parser errors, upgrades and admin probes are each counted', async () => {
    const before = (await h.events()).filter((e) => e.agentgate.action.phase === 'refused').length;
    for (let i = 0; i < 7; i++) await rawHttp(h.proxy.port, head('/api/public/x'));
    for (let i = 0; i < 4; i++) await rawHttp(h.proxy.port, head('/nosuch/x', `Bearer ${h.token}`));
    for (let i = 0; i < 3; i++) await rawHttp(h.proxy.port, head('/api/public/..;/x', `Bearer ${h.token}`));
    for (let i = 0; i < 3; i++) await rawHttp(h.proxy.port, 'GARBAGE\r\n\r\n');
    await rawHttp(h.proxy.port, `GET /api/ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
    await rawHttp(h.proxy.port, head('/_agentgate/secrets'));
    const evs = (await refusedEvents(before + 6)).slice(before);
    const byCode = new Map(evs.map((e) => [e.error?.code, e]));
    assert.equal(byCode.get('ERR_AUTH_MISSING')?.agentgate.refusal?.count, 7);
    assert.equal(byCode.get('ERR_AUTH_MISSING')?.agentgate.action.connection, 'api');
    assert.equal(byCode.get('ERR_CONNECTION_UNKNOWN')?.agentgate.refusal?.count, 4);
    assert.equal(byCode.get('ERR_PATH_TRAVERSAL')?.agentgate.refusal?.count, 3);
    assert.equal(byCode.get('ERR_BAD_REQUEST')?.agentgate.refusal?.count, 3);
    assert.match(String(byCode.get('ERR_BAD_REQUEST')?.labels?.refusal_detail), /^HPE_/);
    assert.equal(byCode.get('ERR_UPGRADE_UNSUPPORTED')?.agentgate.refusal?.count, 1);
    assert.equal(byCode.get('ERR_NOT_FOUND')?.agentgate.refusal?.count, 1);
    for (const e of evs) validateEvent(e);
  });

  test('refusals - authenticated requests, refused or not, are action events, never refusal events', async () => {
    const before = (await h.events()).filter((e) => e.agentgate.action.phase === 'refused').length;
    assert.equal((await rawHttp(h.proxy.port, head('/api/public/ok', `Bearer ${h.token}`))).status, 200);
    assert.equal((await rawHttp(h.proxy.port, head('/api/private/x', `Bearer ${h.token}`))).status, 403);
    assert.equal((await rawHttp(h.proxy.port, head('/_agentgate/healthz'))).status, 200);
    await new Promise((r) => setTimeout(r, 1500));
    const after = (await h.events()).filter((e) => e.agentgate.action.phase === 'refused').length;
    assert.equal(after, before);
  });
});
