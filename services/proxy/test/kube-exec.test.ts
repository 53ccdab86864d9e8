import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { assertNoSecret } from './harness.js';
import { eventsWhere, type KubeHarness, startKubeHarness } from './kube-harness.js';

// No kubelet runs here: exec/attach go to a double speaking the Kubernetes
// WebSocket channel protocol (kube-exec-double.ts), through the real gateway,
// driven by the real kubectl.
let h: KubeHarness;
before(async () => {
  h = await startKubeHarness({
    double: true,
    extraConnections: ({ double }) => `  - name: plain
    type: http
    upstream: ${double?.url}
    credential: { ref: kube-token, inject: bearer }`,
  });
});
after(async () => {
  await h?.close();
});

const execEvents = (pod: string, phase: string) =>
  eventsWhere(h, (e) => e.event.action === 'kubernetes.exec' && e.agentgate.kubernetes?.name === pod && e.agentgate.action.phase === phase);

/** A raw upgrade request; resolves with the status line and everything received until close. */
function rawUpgrade(path: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(h.proxy.port, '127.0.0.1');
    let got = '';
    sock.on('data', (c) => {
      got += c.toString('latin1');
    });
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
    const lines = [`GET ${path} HTTP/1.1`, 'Host: gw', 'Connection: Upgrade', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    sock.write(`${lines.join('\r\n')}\r\n\r\n`);
    setTimeout(() => sock.destroy(), 5000).unref();
  });
}

describe('kubernetes exec', () => {
  it('kubernetes exec - kubectl exec runs through the gateway over WebSocket v5.channel.k8s.io and is recorded as a session', async () => {
    const r = await h.kubectl(['exec', '-n', 'dev', 'web', '--', 'ls', '-l', '/'], { connection: 'pods' });
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.match(r.stdout, /ran: ls -l \//);
    const up = h.double?.seen.find((s) => s.upgrade && s.url.includes('/pods/web/exec'));
    assert.ok(up, 'the double got the upgrade');
    assert.equal(up.authorized, true, 'the gateway credential was injected');
    assert.equal(up.extensions, undefined, 'no WebSocket extension is offered upstream (payloads stay readable)');
    assert.match(up.protocol ?? '', /v5\.channel\.k8s\.io/);
    const [done] = await execEvents('web', 'completed');
    assert.ok(done, 'a completed event');
    const k = done.agentgate.kubernetes;
    assert.equal(k?.verb, 'create');
    assert.equal(k?.subresource, 'exec');
    assert.equal(k?.namespace, 'dev');
    assert.equal(k?.session?.protocol, 'v5.channel.k8s.io');
    assert.match(k?.session?.channels?.['stdout']?.text ?? '', /ran: ls -l/);
    assert.deepEqual(done.agentgate.action.attributes?.['command'], ['ls', '-l', '/']);
    assert.equal(done.http?.response?.status_code, 101);
    assert.equal((await execEvents('web', 'requested')).length, 1, 'the intent was recorded before');
  });

  it('kubernetes exec - stdin reaches the pod and is recorded; a non-zero exit code comes back', async () => {
    const r = await h.kubectl(['exec', '-i', '-n', 'dev', 'cat-pod', '--', 'cat'], { connection: 'pods', input: 'hello from the agent\n' });
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.match(r.stdout, /echo:hello from the agent/);
    const [done] = await execEvents('cat-pod', 'completed');
    assert.match(done?.agentgate.kubernetes?.session?.channels?.['stdin']?.text ?? '', /hello from the agent/);
    const f = await h.kubectl(['exec', '-n', 'dev', 'web', '--', 'fail'], { connection: 'pods' });
    assert.equal(f.code, 3, `kubectl exits with the command's code: ${f.stderr.slice(-500)}`);
  });

  it('kubernetes exec - a credential the pod prints is masked, even split across two messages', async () => {
    const r = await h.kubectl(['exec', '-n', 'dev', 'leaky', '--', 'print-credential'], { connection: 'pods' });
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.match(r.stdout, /credential=\[REDACTED/);
    assertNoSecret(r.stdout, h.secret, 'exec stdout');
    const [done] = await execEvents('leaky', 'completed');
    assert.ok((done?.agentgate.masking?.count ?? 0) >= 1, 'the masking is on the record');
    assertNoSecret(JSON.stringify(done), h.secret, 'session record');
  });

  it('kubernetes exec - exec in prod is denied: kubectl prints the rule, nothing reaches the pod', async () => {
    const before = h.double?.seen.filter((s) => s.url.includes('/namespaces/prod/pods/db/exec')).length ?? 0;
    const r = await h.kubectl(['exec', '-n', 'prod', 'db', '--', 'sh'], { connection: 'pods' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no-exec-prod/);
    assert.match(r.stderr, /no shell in prod pods/);
    assert.equal(h.double?.seen.filter((s) => s.url.includes('/namespaces/prod/pods/db/exec')).length, before);
    const denied = await execEvents('db', 'denied');
    assert.ok(denied.length >= 1);
    assert.equal(denied[0]?.rule?.name, 'no-exec-prod');
  });

  it('kubernetes exec - a review cannot be held on an upgrade: refused as approval required', async () => {
    const r = await h.kubectl(['exec', '-n', 'staging', 'api', '--', 'sh'], { connection: 'pods' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /approval required/);
    assert.equal(
      h.double?.seen.some((s) => s.url.includes('/namespaces/staging/pods/api/exec')),
      false,
    );
  });

  it('kubernetes exec - client Impersonate-* headers never reach the upstream on an upgrade', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${h.proxy.port}/pods/api/v1/namespaces/dev/pods/imp/exec?command=id&stdout=true`, ['v5.channel.k8s.io'], {
      headers: { authorization: `Bearer ${h.token}`, 'impersonate-user': 'system:admin', 'Impersonate-Group': 'system:masters' },
    });
    const text = await new Promise<string>((resolve, reject) => {
      let out = '';
      ws.on('message', (d: Buffer) => {
        if (d[0] === 1) out += d.subarray(1).toString();
      });
      ws.on('close', () => resolve(out));
      ws.on('error', reject);
    });
    assert.match(text, /ran: id/);
    const up = h.double?.seen.find((s) => s.upgrade && s.url.includes('/pods/imp/exec'));
    assert.deepEqual(up?.impersonate, []);
  });

  it('kubernetes exec - SPDY, and upgrades on connections whose adapter has none, are refused with 501', async () => {
    const spdy = await rawUpgrade('/pods/api/v1/namespaces/dev/pods/web/exec?command=ls&stdout=true', {
      Upgrade: 'SPDY/3.1',
      Authorization: `Bearer ${h.token}`,
    });
    assert.match(spdy, /^HTTP\/1\.1 501/);
    assert.match(spdy, /"kind":"Status"/);
    assert.match(spdy, /ERR_UPGRADE_UNSUPPORTED/);
    const plain = await rawUpgrade('/plain/anything', {
      Upgrade: 'websocket',
      Authorization: `Bearer ${h.token}`,
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    });
    assert.match(plain, /^HTTP\/1\.1 501/);
    const anon = await rawUpgrade('/pods/api/v1/namespaces/dev/pods/web/exec?command=ls', {
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    });
    assert.match(anon, /^HTTP\/1\.1 401/);
  });

  it('kubernetes exec - a malformed frame from the client ends the session; the gateway keeps serving', async () => {
    const ws = new WebSocket(
      `ws://127.0.0.1:${h.proxy.port}/pods/api/v1/namespaces/dev/pods/bad/exec?command=cat&stdin=true&stdout=true`,
      ['v5.channel.k8s.io'],
      {
        headers: { authorization: `Bearer ${h.token}` },
      },
    );
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    // An unmasked client frame violates RFC 6455 §5.1.
    const sock = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    sock.write(Buffer.from([0x82, 0x02, 0x00, 0x41]));
    const code = await new Promise<number>((resolve) => ws.once('close', (c: number) => resolve(c)));
    assert.ok(code === 1002 || code === 1006, `closed (${code})`);
    const [done] = await execEvents('bad', 'completed');
    assert.equal(done?.agentgate.kubernetes?.session?.end, 'protocol-error');
    assert.equal(done?.event.outcome, 'failure');
    const again = await h.kubectl(['exec', '-n', 'dev', 'web', '--', 'true'], { connection: 'pods' });
    assert.equal(again.code, 0, again.stderr.slice(-500));
  });

  it('kubernetes exec - the credential is in no byte kubectl saw and no event', async () => {
    await h.assertNoLeak();
  });
});
