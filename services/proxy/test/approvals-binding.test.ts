import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '@agentgate/events';
import { type ApprovalsHarness, call, pendingId, startApprovalsHarness, wait } from './approvals-harness.js';
import { auditEvents, errorOf, rawHttp } from './harness.js';

let h: ApprovalsHarness;
before(async () => {
  h = await startApprovalsHarness();
});
after(async () => {
  await h?.close();
});

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const adminSeen = (): number => h.upstream.seen.filter((s) => s.url.includes('/admin')).length;

interface ShownApproval {
  id: string;
  status: string;
  policyVersion: string;
  principal: { subject: string; identity: Record<string, string> };
  binding: {
    kind: string;
    digest: string;
    request: { method: string; path: string; query: string; headers: Record<string, string> };
    body: { sha256: string; bytes: number } | null;
  };
  preview: { encoding: string; text: string; truncated: boolean; masked: number } | null;
  consumedAt?: string;
  consumedBy?: string;
}

async function shown(id: string, base = h.proxy.url): Promise<{ rec: ShownApproval; text: string }> {
  const r = await call(base, 'GET', `/_agentgate/approvals/${id}`, h.approverToken);
  assert.equal(r.status, 200, r.text);
  return { rec: r.json.approval as ShownApproval, text: r.text };
}

async function pendingCount(base = h.proxy.url): Promise<number> {
  const r = await call(base, 'GET', '/_agentgate/approvals', h.approverToken);
  return ((r.json.approvals ?? []) as unknown[]).length;
}

async function eventsOf(id: string, until: (phases: string[]) => boolean): Promise<AuditEvent[]> {
  const deadline = Date.now() + 5000;
  let evs: AuditEvent[] = [];
  while (Date.now() < deadline) {
    evs = (await auditEvents(h.bus)).filter((e) => e.agentgate.action.id === id);
    if (until(evs.map((e) => e.agentgate.action.phase))) return evs;
    await wait(50);
  }
  return evs;
}

/** A raw client socket: the test decides when each byte is sent. */
function rawClient(port: number): { write(b: string | Buffer): void; response: Promise<{ status: number; text: string }> } {
  const sock = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  sock.on('data', (c) => chunks.push(c));
  sock.on('error', () => {});
  const response = new Promise<{ status: number; text: string }>((resolve) => {
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
  });
  return { write: (b) => sock.write(b), response };
}

/** A POST through node's client; resolves with the status and body text. */
function post(
  base: string,
  path: string,
  token: string,
  body: Buffer | string,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body), connection: 'close', ...headers },
        ...(signal && { signal }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Open descriptors of this process (the proxy runs in it) on unlinked files under `dir`, with their modes. */
function unlinkedFilesUnder(dir: string): number[] {
  const modes: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (link.startsWith(`${dir}/`) && link.endsWith('(deleted)')) {
      try {
        modes.push(statSync(`/proc/self/fd/${fd}`).mode & 0o777);
      } catch {}
    }
  }
  return modes;
}

describe('approvals bound to the exact action', () => {
  it('approvals - the body is read before the hold: a body sent after the headers is what the approver sees and exactly what is forwarded', async () => {
    const body = '{"title":"DROP ALL REPOS!!!!"}';
    assert.equal(Buffer.byteLength(body), 30);
    const apiKey = `k-${randomBytes(12).toString('hex')}`;
    const before = adminSeen();
    const client = rawClient(h.proxy.port);
    client.write(
      `POST /api/admin/repos?dry_run=0 HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${h.token}\r\nContent-Type: application/json\r\nContent-Length: 30\r\n` +
        `Cookie: session=${apiKey}\r\nX-Api-Key: ${apiKey}\r\nConnection: close\r\n\r\n`,
    );
    // The attack: headers now, body later. Nothing may be put before an approver until the body is known.
    await wait(800);
    assert.equal(await pendingCount(), 0, 'no approval exists while the body is still outstanding');
    client.write(body);
    const id = await pendingId(h.proxy.url, h.approverToken);
    const { rec, text } = await shown(id);
    assert.equal(rec.binding.kind, 'http.post');
    assert.deepEqual(rec.binding.body, { sha256: sha256(body), bytes: 30 });
    assert.equal(rec.preview?.text, body);
    assert.equal(rec.preview?.truncated, false);
    assert.equal(rec.binding.request.method, 'POST');
    assert.equal(rec.binding.request.path, '/admin/repos');
    assert.equal(rec.binding.request.query, '?dry_run=0');
    assert.equal(rec.binding.request.headers['content-type'], 'application/json');
    for (const name of ['authorization', 'cookie', 'x-api-key', 'host']) assert.equal(rec.binding.request.headers[name], undefined, `${name} is not shown`);
    assert.ok(!text.includes(apiKey), 'no credential-like header value reaches the approver');
    assert.ok(!text.includes(h.token.slice(-24)), 'the requester token is never shown');
    assert.match(rec.binding.digest, /^[0-9a-f]{64}$/);
    assert.match(rec.policyVersion, /^[0-9a-f]{64}$/);
    assert.equal(adminSeen(), before, 'nothing reached the upstream while held');

    const ok = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.approverToken, { reason: 'title change only' });
    assert.equal(ok.status, 200, ok.text);
    const res = await client.response;
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.equal(adminSeen(), before + 1);
    const got = h.upstream.seen.at(-1);
    assert.equal(got?.url, '/base/admin/repos?dry_run=0');
    assert.equal(got?.bodySha256, sha256(body), 'the upstream got exactly the approved bytes');
    assert.equal(got?.bodyHead.toString('utf8'), body);
    assert.equal(got?.headers['content-length'], '30');

    const evs = await eventsOf(id, (p) => p.includes('completed'));
    assert.deepEqual(
      evs.map((e) => e.agentgate.action.phase),
      ['held', 'approved', 'requested', 'completed'],
    );
    const held = evs[0]?.agentgate.approval;
    assert.equal(held?.status, 'pending');
    assert.equal(held?.body_sha256, sha256(body));
    assert.equal(held?.body_bytes, 30);
    assert.equal(held?.binding_sha256, rec.binding.digest);
    assert.equal(held?.policy_version, rec.policyVersion);
    const approved = evs[1]?.agentgate.approval;
    assert.equal(approved?.reason, 'title change only');
    assert.equal(approved?.body_sha256, sha256(body));
    assert.equal(approved?.decided_via, 'test-gateway');
  });

  it('approvals - the approver sees the body masked (detectors and sensitive keys) and truncated, never the secret', async () => {
    // Token-shaped fixtures are built at run time (the repository holds none).
    const ghToken = `ghp_${randomBytes(27)
      .toString('base64')
      .replace(/[^A-Za-z0-9]/g, 'a')
      .slice(0, 36)}`;
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const body = JSON.stringify({ title: 'rotate', password, note: `use ${ghToken} for the bot`, pad: 'x'.repeat(6000) });
    const held = post(h.proxy.url, '/api/admin/rotate', h.token, body, { 'content-type': 'application/json' });
    const id = await pendingId(h.proxy.url, h.approverToken);
    const { rec, text } = await shown(id);
    assert.ok(!text.includes(ghToken), 'the GitHub token is masked');
    assert.ok(!text.includes(password), 'the value of "password" is masked');
    assert.match(rec.preview?.text ?? '', /"password":"\[REDACTED:sensitive-key\]"/);
    assert.match(rec.preview?.text ?? '', /\[REDACTED:github-token\]/);
    assert.ok((rec.preview?.masked ?? 0) >= 2);
    assert.equal(rec.preview?.truncated, true, 'a long body is cut for display');
    assert.ok((rec.preview?.text.length ?? 0) <= 4096);
    assert.equal(rec.binding.body?.sha256, sha256(body), 'the digest is of the real bytes, not the masked preview');
    const r = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/reject`, h.approverToken, { reason: 'no' });
    assert.equal(r.status, 200);
    assert.equal((await held).status, 403);
  });

  it('approvals - a chunked 100 KB body over approvals.maxBodyBytes is refused before anything is held, and so is a declared one', async () => {
    const p = await h.extraProxy({ maxBodyBytes: 64 * 1024 });
    const port = Number(new URL(p.url).port);
    const before = adminSeen();
    const piece = Buffer.alloc(1024, 'a');
    const chunked = Buffer.concat([
      ...Array.from({ length: 100 }, () => Buffer.concat([Buffer.from('400\r\n'), piece, Buffer.from('\r\n')])),
      Buffer.from('0\r\n\r\n'),
    ]);
    const head = `POST /api/admin/bulk HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${h.token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
    const r = await rawHttp(port, head, chunked);
    assert.equal(r.status, 413);
    assert.equal(errorOf(r.text).code, 'ERR_APPROVAL_BODY_TOO_LARGE');
    const declared = await rawHttp(
      port,
      `POST /api/admin/bulk HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${h.token}\r\nContent-Length: 102400\r\nConnection: close\r\n\r\n`,
      piece,
    );
    assert.equal(declared.status, 413);
    assert.equal(errorOf(declared.text).code, 'ERR_APPROVAL_BODY_TOO_LARGE');
    assert.equal(await pendingCount(p.url), 0, 'nothing was held');
    assert.equal(adminSeen(), before, 'nothing reached the upstream');
    await wait(300);
    const bulk = (await auditEvents(h.bus)).filter((e) => e.url?.path === '/api/admin/bulk');
    assert.deepEqual(
      bulk.map((e) => e.agentgate.action.phase),
      ['failed', 'failed'],
      'not held, but the attempts are on the record',
    );
    assert.match(String(bulk[0]?.event.reason), /not held for approval: .*approvals\.maxBodyBytes/);
  });

  it('approvals - a large held body is spooled to an unlinked 0600 file (nothing on disk), forwarded byte for byte, and released', async () => {
    const body = randomBytes(300 * 1024);
    const spoolDir = join(h.dataDir, 'approvals-spool');
    const held = post(h.proxy.url, '/api/admin/blob', h.token, body, { 'content-type': 'application/octet-stream' });
    const id = await pendingId(h.proxy.url, h.approverToken);
    const { rec } = await shown(id);
    assert.deepEqual(rec.binding.body, { sha256: sha256(body), bytes: body.length });
    assert.equal(rec.preview?.encoding, 'binary');
    assert.equal(rec.preview?.text, '');
    assert.ok(existsSync(spoolDir), 'the spool directory is under the data dir');
    assert.equal(statSync(spoolDir).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(spoolDir), [], 'no held body is visible on disk');
    assert.deepEqual(unlinkedFilesUnder(spoolDir), [0o600], 'one unlinked spool file, mode 0600');
    const ok = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.approverToken);
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await held).status, 200);
    assert.equal(h.upstream.seen.at(-1)?.bodySha256, sha256(body));
    assert.equal(h.upstream.seen.at(-1)?.bodyBytes, body.length);
    const deadline = Date.now() + 3000;
    while (unlinkedFilesUnder(spoolDir).length > 0 && Date.now() < deadline) await wait(20);
    assert.deepEqual(unlinkedFilesUnder(spoolDir), [], 'the spool file is closed once the request is done');
  });

  it('approvals - an approval releases one request: it is consumed, a second decision is refused and a replay needs its own approval', async () => {
    const before = adminSeen();
    const first = post(h.proxy.url, '/api/admin/once', h.token, 'same bytes');
    const id = await pendingId(h.proxy.url, h.approverToken);
    const digest = (await shown(id)).rec.binding.digest;
    assert.equal((await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.approverToken)).status, 200);
    assert.equal((await first).status, 200);
    assert.equal(adminSeen(), before + 1);
    const used = (await shown(id)).rec;
    assert.equal(used.status, 'approved');
    assert.ok(used.consumedAt && Date.parse(used.consumedAt) > 0, 'the record is marked used');
    assert.equal(used.consumedBy, 'test-gateway');
    const again = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.approverToken);
    assert.equal(again.status, 409);

    // The same request again: the same binding, but a new approval to give.
    const replay = post(h.proxy.url, '/api/admin/once', h.token, 'same bytes');
    const id2 = await pendingId(h.proxy.url, h.approverToken);
    assert.notEqual(id2, id);
    assert.equal((await shown(id2)).rec.binding.digest, digest, 'the same action binds to the same digest');
    await wait(300);
    assert.equal(adminSeen(), before + 1, 'the replay waits for its own approval');
    assert.equal((await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id2}/reject`, h.approverToken)).status, 200);
    assert.equal((await replay).status, 403);
    assert.equal(adminSeen(), before + 1);
  });

  it('approvals - four eyes: the same actor approving with another token (other repository and run) is refused', async () => {
    const held = post(h.proxy.url, '/api/admin/self', h.token, '{}');
    const id = await pendingId(h.proxy.url, h.approverToken);
    const self = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.sameActorToken);
    assert.equal(self.status, 403, self.text);
    const err = self.json.error as { code: string; message: string };
    assert.equal(err.code, 'ERR_SELF_APPROVAL');
    assert.match(err.message, /same actor/);
    const { rec } = await shown(id);
    assert.equal(rec.status, 'pending');
    assert.equal(rec.principal.identity.actor, 'octocat', 'the record keeps who the human behind the run is');
    const ok = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.approverToken);
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await held).status, 200);
  });

  it('approvals - a principal may have at most maxPendingPerPrincipal approvals pending; others are not affected', async () => {
    const p = await h.extraProxy({ maxPendingPerPrincipal: 2 });
    const before = adminSeen();
    const ac = new AbortController();
    const a = post(p.url, '/api/admin/cap-1', h.token, 'a', {}, ac.signal).catch(() => undefined);
    const b = post(p.url, '/api/admin/cap-2', h.token, 'b', {}, ac.signal).catch(() => undefined);
    const deadline = Date.now() + 5000;
    while ((await pendingCount(p.url)) < 2 && Date.now() < deadline) await wait(50);
    assert.equal(await pendingCount(p.url), 2);
    const third = await post(p.url, '/api/admin/cap-3', h.token, 'c');
    assert.equal(third.status, 429, third.text);
    assert.equal((JSON.parse(third.text) as { error: { code: string } }).error.code, 'ERR_APPROVALS_LIMIT');
    await wait(300);
    const capEvents = (await auditEvents(h.bus)).filter((e) => e.url?.path === '/api/admin/cap-3').map((e) => `${e.agentgate.action.phase}: ${e.event.reason}`);
    assert.equal(capEvents.length, 1);
    assert.match(capEvents[0] ?? '', /^failed: not held for approval: .*maxPendingPerPrincipal/);
    // Another principal still gets its review held.
    const other = post(p.url, '/api/admin/cap-other', h.approverToken, 'd');
    while ((await pendingCount(p.url)) < 3 && Date.now() < deadline + 5000) await wait(50);
    const list = (await call(p.url, 'GET', '/_agentgate/approvals', h.approverToken)).json.approvals as Array<{ id: string; principal: { subject: string } }>;
    assert.equal(list.length, 3);
    const otherId = list.find((r) => r.principal.subject.includes('acme/ops'))?.id;
    assert.ok(otherId);
    assert.equal((await call(p.url, 'POST', `/_agentgate/approvals/${otherId}/reject`, h.token)).status, 200);
    assert.equal((await other).status, 403);
    ac.abort();
    await Promise.all([a, b]);
    const end = Date.now() + 5000;
    while ((await pendingCount(p.url)) > 0 && Date.now() < end) await wait(50);
    assert.equal(await pendingCount(p.url), 0);
    assert.equal(adminSeen(), before);
  });

  it('approvals - the deciding proxy records the decision before answering; the holding proxy killed after the approval leaves it in the trail', async () => {
    const holder = await h.proxyProcess('holder-gw');
    const before = adminSeen();
    const body = '{"deploy":"prod"}';
    const held = post(holder.url, '/api/admin/deploy', h.token, body).catch((err: Error) => err);
    const id = await pendingId(h.proxy.url, h.approverToken);
    // Frozen: from here on the holding proxy can record nothing, so whatever the trail shows came from the decider.
    holder.child.kill('SIGSTOP');
    const ok = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.approverToken, { reason: 'ship' });
    assert.equal(ok.status, 200, ok.text);
    // Read at once, without polling: the event was stored before the approver got the answer.
    const now = (await auditEvents(h.bus)).filter((e) => e.agentgate.action.id === id);
    const approved = now.filter((e) => e.agentgate.action.phase === 'approved');
    assert.equal(approved.length, 1, 'the decision is in the trail when the approver is answered');
    const fields = approved[0]?.agentgate.approval;
    assert.match(String(fields?.approver?.subject), /acme\/ops/);
    assert.deepEqual(fields?.approver?.groups, ['acme-ci']);
    assert.equal(fields?.reason, 'ship');
    assert.equal(fields?.body_sha256, sha256(body));
    assert.equal(fields?.decided_via, 'test-gateway');
    assert.match(String(fields?.policy_version), /^[0-9a-f]{64}$/);
    assert.equal(approved[0]?.observer.name, 'test-gateway');
    assert.ok(
      approved[0]?.related?.user?.some((u) => u.includes('acme/ops')),
      'the approver is a related user',
    );
    assert.equal(now.find((e) => e.agentgate.action.phase === 'held')?.observer.name, 'holder-gw');

    holder.child.kill('SIGKILL');
    await holder.exited;
    await held;
    await wait(300);
    const after = (await auditEvents(h.bus)).filter((e) => e.agentgate.action.id === id).map((e) => e.agentgate.action.phase);
    assert.deepEqual(after, ['held', 'approved'], 'the trail keeps the hold and the decision; nothing was forwarded');
    assert.equal(adminSeen(), before);
  });
});
