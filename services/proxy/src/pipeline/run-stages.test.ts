import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { Principal } from '@agentgate/events';
import type { Classification } from '../adapters/types.js';
import type { PolicyPort } from '../lib/ports.js';
import { abortOnClientGone, checkFraming, decideClassified, restrictAcceptEncoding } from './run.js';

const principal = { subject: 'ci', sessionId: 's1', expiresAt: 0 } as unknown as Principal;
const asking = (effect: 'allow' | 'deny' | 'review'): { policy: PolicyPort; asked: () => number } => {
  let asked = 0;
  const policy = {
    decide: () => {
      asked++;
      return { effect, rule: 'p', reason: 'policy' };
    },
  } as unknown as PolicyPort;
  return { policy, asked: () => asked };
};
const classified = (extra: Partial<Classification>): Classification => ({ kind: 'http.read', attributes: {}, ...extra }) as Classification;

test('pipeline stages - an adapter refusal is a deny by its rule, a built-in allow an allow by its rule; policy is asked otherwise', () => {
  const p = asking('allow');
  const refused = decideClassified(
    p,
    principal,
    'c',
    classified({ refusal: { rule: 'promptSecrets', reason: 'a secret in the prompt' } } as Partial<Classification>),
  );
  assert.deepEqual(refused.decision, { effect: 'deny', rule: 'promptSecrets', reason: 'a secret in the prompt' });
  const allowed = decideClassified(p, principal, 'c', classified({ allow: { rule: 'discovery', reason: 'built in' } } as Partial<Classification>));
  assert.deepEqual(allowed.decision, { effect: 'allow', rule: 'discovery', reason: 'built in' });
  assert.equal(p.asked(), 0, 'policy is not asked for either');
  const asked = decideClassified(asking('review'), principal, 'c', classified({}));
  assert.equal(asked.decision.effect, 'review');
});

test('pipeline stages - the upstream request is aborted when the client goes, unless an effect whose body went whole', () => {
  const gone = new AbortController();
  const plain = abortOnClientGone(gone.signal, Buffer.from('x'), false);
  const effectSent = abortOnClientGone(gone.signal, Buffer.from('x'), true);
  const streaming = new PassThrough();
  const effectStreaming = abortOnClientGone(gone.signal, streaming, true);
  gone.abort();
  assert.equal(plain.signal.aborted, true);
  assert.equal(effectSent.signal.aborted, false, 'a push whose body is upstream whole is read to its end');
  assert.equal(effectStreaming.signal.aborted, true, 'a body still streaming: a truncated request lands nothing');
  const already = abortOnClientGone(gone.signal, null, false);
  assert.equal(already.signal.aborted, true, 'a client already gone aborts at once');
});

test('pipeline stages - framing: CL with TE, two Hosts, a coding other than chunked are refused', () => {
  const code = (headers: Record<string, string>, rawHeaders: string[] = []): string | undefined => {
    try {
      checkFraming({ headers, rawHeaders });
      return undefined;
    } catch (err) {
      return (err as { code: string }).code;
    }
  };
  assert.equal(code({ 'content-length': '1', 'transfer-encoding': 'chunked' }), 'ERR_BAD_REQUEST');
  assert.equal(code({ host: 'a' }, ['Host', 'a', 'host', 'b']), 'ERR_BAD_REQUEST');
  assert.equal(code({ 'transfer-encoding': 'gzip, chunked' }), 'ERR_BAD_REQUEST');
  assert.equal(code({ 'transfer-encoding': ' Chunked ' }), undefined);
  assert.equal(code({ host: 'a' }, ['Host', 'a']), undefined);
});

test('pipeline stages - with masking, only codings the gateway decodes are offered upstream', () => {
  const h: Record<string, string | string[]> = { 'accept-encoding': 'zstd, br, gzip;q=0.5' };
  restrictAcceptEncoding(h, true);
  assert.equal(h['accept-encoding'], 'gzip, br');
  const none: Record<string, string | string[]> = { 'accept-encoding': 'zstd' };
  restrictAcceptEncoding(none, true);
  assert.equal(none['accept-encoding'], undefined);
  const unmasked: Record<string, string | string[]> = { 'accept-encoding': 'zstd' };
  restrictAcceptEncoding(unmasked, false);
  assert.equal(unmasked['accept-encoding'], 'zstd');
});
