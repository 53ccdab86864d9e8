import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type ApprovalsHarness, call, pendingId, startApprovalsHarness, wait } from './approvals-harness.js';
import { auditEvents } from './harness.js';

let h: ApprovalsHarness;
before(async () => {
  h = await startApprovalsHarness();
});
after(async () => {
  await h?.close();
});

/** Upstream requests to an admin path so far. */
const adminSeen = (): number => h.upstream.seen.filter((s) => s.url.includes('/admin')).length;

async function phasesOf(actionId: string): Promise<string[]> {
  const deadline = Date.now() + 5000;
  let phases: string[] = [];
  while (Date.now() < deadline) {
    const evs = await auditEvents(h.bus);
    phases = evs.filter((e) => e.agentgate.action.id === actionId).map((e) => e.agentgate.action.phase);
    if (phases.includes('completed') || phases.includes('rejected') || phases.includes('expired')) return phases;
    await wait(50);
  }
  return phases;
}

describe('approvals', () => {
  it('approvals - a review is held, the upstream sees nothing, and an approver releases it', async () => {
    const before = adminSeen();
    const held = call(h.proxy.url, 'GET', '/api/admin/users', h.token);
    const id = await pendingId(h.proxy.url, h.approverToken);
    await wait(200);
    assert.equal(adminSeen(), before, 'nothing reaches the upstream while held');
    const shown = await call(h.proxy.url, 'GET', `/_agentgate/approvals/${id}`, h.approverToken);
    assert.equal(shown.status, 200);
    const rec = shown.json.approval as { status: string; rule: string; connection: string; principal: { subject: string } };
    assert.equal(rec.status, 'pending');
    assert.equal(rec.rule, 'admin-review');
    assert.equal(rec.connection, 'api');
    assert.match(rec.principal.subject, /acme\/app/);
    assert.doesNotMatch(shown.text, new RegExp(h.token.slice(-20).replace(/[^\w]/g, '.')));

    const ok = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.approverToken, { reason: 'looks fine' });
    assert.equal(ok.status, 200, ok.text);
    const res = await held;
    assert.equal(res.status, 200, res.text);
    assert.equal(adminSeen(), before + 1);
    const got = h.upstream.seen.at(-1);
    assert.equal(got?.url, '/base/admin/users');
    assert.equal(got?.headers.authorization, `Bearer ${h.secret}`, 'the brokered credential is injected after approval');
    const phases = await phasesOf(id);
    assert.deepEqual(phases, ['held', 'approved', 'requested', 'completed']);
    const approved = (await auditEvents(h.bus)).find((e) => e.agentgate.action.id === id && e.agentgate.action.phase === 'approved');
    const fields = approved?.agentgate.approval;
    assert.equal(fields?.id, id);
    assert.equal(fields?.status, 'approved');
    assert.match(String(fields?.approver?.subject), /acme\/ops/);
    assert.deepEqual(fields?.approver?.groups, ['acme-ci']);
    assert.equal(fields?.reason, 'looks fine');
    assert.ok(fields?.decided_at && Date.parse(fields.decided_at) > 0);
    assert.match(String(fields?.policy_version), /^[0-9a-f]{64}$/);
    assert.equal(fields?.body_sha256, undefined, 'a GET has no body to bind');
    assert.equal(approved?.labels?.approval_by_subject, undefined, 'approval facts are fields, not labels');

    const again = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/reject`, h.approverToken);
    assert.equal(again.status, 409);
    assert.equal((again.json.error as { code: string }).code, 'ERR_APPROVAL_DECIDED');
  });

  it('approvals - a rejection refuses with 403 naming the approver and the reason', async () => {
    const before = adminSeen();
    const held = call(h.proxy.url, 'GET', '/api/admin/drop', h.token);
    const id = await pendingId(h.proxy.url, h.approverToken);
    const r = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/reject`, h.approverToken, { reason: 'not today' });
    assert.equal(r.status, 200, r.text);
    const res = await held;
    assert.equal(res.status, 403);
    const err = res.json.error as { code: string; message: string };
    assert.equal(err.code, 'ERR_APPROVAL_REJECTED');
    assert.match(err.message, /acme\/ops/);
    assert.match(err.message, /not today/);
    assert.equal(adminSeen(), before);
    assert.deepEqual(await phasesOf(id), ['held', 'rejected']);
  });

  it('approvals - a non-approver and the requester are refused and the request stays held', async () => {
    const before = adminSeen();
    const held = call(h.proxy.url, 'GET', '/api/admin/x', h.token);
    const id = await pendingId(h.proxy.url, h.approverToken);
    const outsider = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.outsiderToken);
    assert.equal(outsider.status, 403);
    assert.equal((outsider.json.error as { code: string }).code, 'ERR_APPROVER_FORBIDDEN');
    const list = await call(h.proxy.url, 'GET', '/_agentgate/approvals', h.outsiderToken);
    assert.equal(list.status, 403);
    const self = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.token);
    assert.equal(self.status, 403);
    assert.equal((self.json.error as { code: string }).code, 'ERR_SELF_APPROVAL');
    const anon = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, undefined);
    assert.equal(anon.status, 401);
    const still = await call(h.proxy.url, 'GET', `/_agentgate/approvals/${id}`, h.approverToken);
    assert.equal((still.json.approval as { status: string }).status, 'pending');
    assert.equal(adminSeen(), before);
    // Release it so the request ends.
    await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/reject`, h.approverToken);
    assert.equal((await held).status, 403);
  });

  it('approvals - an approval given through a second proxy on the same NATS releases the first', async () => {
    const second = await h.extraProxy({});
    const held = call(h.proxy.url, 'GET', '/api/admin/second', h.token);
    const id = await pendingId(second.url, h.approverToken);
    const ok = await call(second.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.approverToken);
    assert.equal(ok.status, 200, ok.text);
    const res = await held;
    assert.equal(res.status, 200, res.text);
    assert.equal(h.upstream.seen.at(-1)?.url, '/base/admin/second');
    // Both proxies recorded the decision (the decider before answering, the holder before forwarding): one event.
    await phasesOf(id);
    const approvedEvents = (await auditEvents(h.bus)).filter((e) => e.agentgate.action.id === id && e.agentgate.action.phase === 'approved');
    assert.equal(approvedEvents.length, 1);
  });

  it('approvals - nobody deciding in time refuses with 403 expired', async () => {
    const short = await h.extraProxy({ timeoutMs: 1000 });
    const before = adminSeen();
    const started = Date.now();
    const res = await call(short.url, 'GET', '/api/admin/slow', h.token);
    assert.equal(res.status, 403);
    const err = res.json.error as { code: string; message: string };
    assert.equal(err.code, 'ERR_APPROVAL_EXPIRED');
    assert.match(err.message, /approval timed out/);
    assert.ok(Date.now() - started >= 900);
    assert.equal(adminSeen(), before);
  });

  it('approvals - with no approver groups a review is refused at once', async () => {
    const none = await h.extraProxy({ approverGroups: [] });
    const started = Date.now();
    const res = await call(none.url, 'GET', '/api/admin/now', h.token);
    assert.equal(res.status, 403);
    assert.equal((res.json.error as { code: string }).code, 'ERR_APPROVAL_REQUIRED');
    assert.ok(Date.now() - started < 1000);
  });

  it('approvals - a held POST body is not forwarded until approved, then arrives whole', async () => {
    const before = adminSeen();
    const payload = 'x'.repeat(200_000);
    const held = new Promise<number>((resolve, reject) => {
      const req = request(
        `${h.proxy.url}/api/admin/upload`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${h.token}`, 'content-length': payload.length, connection: 'close' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    const id = await pendingId(h.proxy.url, h.approverToken);
    await wait(200);
    assert.equal(adminSeen(), before);
    await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.approverToken);
    assert.equal(await held, 200);
    assert.equal(h.upstream.seen.at(-1)?.bodyBytes, payload.length);
  });

  it('approvals - a client that disconnects while held cancels its approval', async () => {
    const ac = new AbortController();
    const held = call(h.proxy.url, 'GET', '/api/admin/gone', h.token, undefined, ac.signal).catch(() => undefined);
    const id = await pendingId(h.proxy.url, h.approverToken);
    ac.abort();
    await held;
    const deadline = Date.now() + 5000;
    let status = 'pending';
    while (status === 'pending' && Date.now() < deadline) {
      await wait(50);
      const r = await call(h.proxy.url, 'GET', `/_agentgate/approvals/${id}`, h.approverToken);
      status = (r.json.approval as { status: string }).status;
    }
    assert.equal(status, 'cancelled');
    const late = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.approverToken);
    assert.equal(late.status, 409);
  });
});
