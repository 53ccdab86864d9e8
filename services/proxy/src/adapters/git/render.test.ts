import assert from 'node:assert/strict';
import { test } from 'node:test';
import { credentialEnv } from './mirror.js';
import { readPkt } from './pkt-line.js';
import { errPacket, oneLine, reportStatus } from './render.js';

function packets(buf: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < buf.length; ) {
    const p = readPkt(buf, at);
    assert.ok(p, 'whole packets only');
    out.push(p.type === 'data' ? p.payload.toString('latin1') : p.type);
    at += p.size;
  }
  return out;
}

test('git render - report-status refuses every ref, plain or in side-band 1', () => {
  const refs = [
    { ref: 'refs/heads/main', reason: 'force-push denied by rule no-force-push' },
    { ref: 'refs/heads/x', reason: 'push refused' },
  ];
  assert.deepEqual(packets(reportStatus(refs, ['report-status'])), [
    'unpack ok\n',
    'ng refs/heads/main force-push denied by rule no-force-push\n',
    'ng refs/heads/x push refused\n',
    'flush',
  ]);
  const banded = packets(reportStatus(refs, ['report-status', 'side-band-64k']));
  assert.equal(banded.at(-1), 'flush');
  assert.equal(banded[0]?.charCodeAt(0), 1, 'band 1');
  assert.deepEqual(packets(Buffer.from(banded[0]?.slice(1) ?? '', 'latin1')).slice(0, 2), [
    'unpack ok\n',
    'ng refs/heads/main force-push denied by rule no-force-push\n',
  ]);
});

test('git render - reasons and ERR messages are one printable line', () => {
  assert.equal(oneLine('a\nb\r\u0000c\u00e9'), 'a b c');
  assert.equal(oneLine('x'.repeat(500), 10), 'xxxxxxx...');
  assert.deepEqual(packets(errPacket('bad\nthing')), ['ERR bad thing\n']);
});

test('git mirror - the credential goes to git as env config only, with redirects off', () => {
  const secret = 's3cr3t+/=value';
  const env = credentialEnv({ ref: 'git-token', value: secret, inject: { type: 'basic', username: 'x-access-token' }, expiresAt: Date.now() + 60_000 });
  const pairs = Object.keys(env)
    .filter((k) => k.startsWith('GIT_CONFIG_KEY_'))
    .map((k) => [env[k], env[k.replace('KEY', 'VALUE')]]);
  assert.equal(Number(env.GIT_CONFIG_COUNT), pairs.length);
  assert.deepEqual(
    pairs.find(([k]) => k === 'http.followRedirects'),
    ['http.followRedirects', 'false'],
  );
  const header = pairs.find(([k]) => k === 'http.extraHeader')?.[1];
  assert.equal(header, `authorization: Basic ${Buffer.from(`x-access-token:${secret}`).toString('base64')}`);
  assert.equal(credentialEnv(undefined).GIT_CONFIG_COUNT, '4', 'no header without a credential');
});
