import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { kubeconfig } from '../src/commands/kubeconfig.js';
import { type Output, runCli } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'agentgate-kubeconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function capture(): Output & { text(): string } {
  const lines: string[] = [];
  return { out: (l) => lines.push(l), err: (l) => lines.push(l), text: () => lines.join('\n') };
}

function jwt(exp: number): string {
  const b = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'RS256' })}.${b({ sub: 'repo:acme/app', exp })}.c2lnbmF0dXJl`;
}

describe('kubeconfig', () => {
  it('kubeconfig - prints a kubeconfig whose server is the gateway path and whose user is the exec plugin', async () => {
    const io = capture();
    const code = await runCli(
      ['kubeconfig', '--connection', 'prod-cluster', '--gateway', 'https://gw.example/', '--token-file', '/run/ci/token', '--namespace', 'dev'],
      io,
    );
    assert.equal(code, 0, io.text());
    const kc = parse(io.text());
    assert.equal(kc.kind, 'Config');
    assert.equal(kc.clusters[0].cluster.server, 'https://gw.example/prod-cluster');
    const exec = kc.users[0].user.exec;
    assert.equal(exec.apiVersion, 'client.authentication.k8s.io/v1');
    assert.equal(exec.command, 'agentgate');
    assert.deepEqual(exec.args, ['kubeconfig', 'token', '--token-file', '/run/ci/token']);
    assert.equal(exec.interactiveMode, 'Never');
    assert.equal(kc.contexts[0].context.namespace, 'dev');
    assert.equal(kc['current-context'], 'agentgate-prod-cluster');
  });

  it('kubeconfig - usage errors exit 2', async () => {
    for (const args of [
      ['kubeconfig'],
      ['kubeconfig', '--connection', 'Bad Name', '--gateway', 'https://x'],
      ['kubeconfig', '--connection', 'c'],
      ['kubeconfig', '--connection', 'c', '--gateway', 'ftp://x'],
    ]) {
      const io = capture();
      assert.equal(await runCli(args, io), 2, args.join(' '));
    }
  });

  it('kubeconfig token - an ExecCredential with the token (re-read from the file) and its expiry less 30 s', async () => {
    const file = join(dir, 'token');
    const exp = Math.floor(Date.now() / 1000) + 600;
    writeFileSync(file, `${jwt(exp)}\n`);
    const io = capture();
    assert.equal(await kubeconfig(['token', '--token-file', file], io, {}), 0);
    const cred = JSON.parse(io.text());
    assert.equal(cred.kind, 'ExecCredential');
    assert.equal(cred.apiVersion, 'client.authentication.k8s.io/v1');
    assert.equal(cred.status.token, jwt(exp));
    assert.equal(Date.parse(cred.status.expirationTimestamp) / 1000, exp - 30);
    writeFileSync(file, jwt(exp + 60));
    const again = capture();
    await kubeconfig(['token', '--token-file', file], again, {});
    assert.equal(JSON.parse(again.text()).status.token, jwt(exp + 60), 'a refreshed file is picked up');
    const fromEnv = capture();
    await kubeconfig(['token'], fromEnv, { AGENTGATE_TOKEN: 'opaque-token' });
    assert.deepEqual(JSON.parse(fromEnv.text()).status, { token: 'opaque-token' });
  });

  it('kubeconfig token - no token or an expired one is an error kubectl shows', async () => {
    await assert.rejects(kubeconfig(['token'], capture(), {}), { code: 'ERR_TOKEN_UNAVAILABLE' });
    await assert.rejects(kubeconfig(['token', '--token-file', join(dir, 'missing')], capture(), {}), { code: 'ERR_TOKEN_UNAVAILABLE' });
    await assert.rejects(kubeconfig(['token'], capture(), { AGENTGATE_TOKEN: jwt(Math.floor(Date.now() / 1000) - 5) }), { code: 'ERR_TOKEN_EXPIRED' });
  });
});
