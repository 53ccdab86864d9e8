import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { githubClaims } from '@agentgate/testkit';
import { errorOf, type Harness, rawGet, rawHttp, startHarness } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('NATS outage: no record, no action; service resumes without a restart', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  test('outage - with nats-server stopped every request is refused with 503 and the upstream sees none; back up, service resumes', async () => {
    assert.equal((await rawGet(h, '/api/warm')).status, 200);
    await h.nats.stop();
    for (let i = 0; i < 100 && h.bus.status() === 'connected'; i++) await sleep(20);
    assert.notEqual(h.bus.status(), 'connected');

    const before = h.upstream.seen.length;
    const fresh = await h.issuer.mint(githubClaims({ run_id: '999' }));
    for (let i = 0; i < 5; i++) {
      // Cached principal and lease: the refusal comes from the audit stream not acknowledging.
      const r = await rawGet(h, `/api/during-outage-${i}`);
      assert.equal(r.status, 503);
      assert.equal(errorOf(r.text).code, 'ERR_AUDIT_UNAVAILABLE');
      assert.match(errorOf(r.text).message, /no record, no action/);
    }
    // A token not seen before cannot even be verified: identity is unreachable, never allow.
    const r2 = await rawGet(h, '/api/during-outage-new-token', '', `Bearer ${fresh}`);
    assert.equal(r2.status, 503);
    assert.equal(errorOf(r2.text).code, 'ERR_IDENTITY_UNAVAILABLE');
    const ready = await rawHttp(h.proxy.port, 'GET /_agentgate/readyz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n');
    assert.equal(ready.status, 503);
    assert.equal(h.upstream.seen.length, before, 'the upstream saw none of the refused requests');

    await h.nats.start();
    let status = 0;
    for (let i = 0; i < 150 && status !== 200; i++) {
      status = (await rawGet(h, '/api/after-outage')).status;
      if (status !== 200) await sleep(100);
    }
    assert.equal(status, 200, 'service resumed after NATS came back');
    assert.equal((await rawGet(h, '/api/after-outage-new-token', '', `Bearer ${fresh}`)).status, 200);
    // Readiness reads every audit stream's fill level (1 s budget): right after nats-server restarts JetStream answers
    // slowly for a moment, so the probe turns ready again within seconds, as a kubelet polling it would see.
    let readyAgain = { status: 0, text: '' };
    for (let i = 0; i < 50 && readyAgain.status !== 200; i++) {
      readyAgain = await rawHttp(h.proxy.port, 'GET /_agentgate/readyz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n');
      if (readyAgain.status !== 200) await sleep(200);
    }
    assert.equal(readyAgain.status, 200, readyAgain.text);
    assert.ok(h.upstream.seen.slice(before).every((s) => !s.url.includes('during-outage')));
  });
});
