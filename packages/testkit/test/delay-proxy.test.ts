import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type DelayProxy, startDelayProxy } from '../src/index.js';

describe('delay proxy', () => {
  const hits: string[] = [];
  const target = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => res.end(`hello ${req.url}`));
  });
  let proxy: DelayProxy;
  before(async () => {
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
    const addr = target.address();
    proxy = await startDelayProxy(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`);
  });
  after(async () => {
    await proxy.stop();
    await new Promise<void>((r) => target.close(() => r()));
  });

  function get(path: string, abortAfterMs?: number): Promise<{ ms: number; text: string | undefined }> {
    const started = Date.now();
    return new Promise((resolve) => {
      const req = request(`${proxy.url}${path}`, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ ms: Date.now() - started, text }));
      });
      req.on('error', () => resolve({ ms: Date.now() - started, text: undefined }));
      if (abortAfterMs !== undefined) setTimeout(() => req.destroy(), abortAfterMs);
      req.end();
    });
  }

  test('delay proxy - forwards as is, pauses matching requests before or after the target acts, counts `times`', async () => {
    assert.deepEqual((await get('/plain')).text, 'hello /plain');
    proxy.setRules([
      { path: /^\/late/, when: 'before-response', ms: 300, times: 1 },
      { method: 'GET', path: /^\/held/, when: 'before-request', ms: 300 },
    ]);
    const late = get('/late');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(hits.includes('GET /late'), 'the target acted before the pause ended');
    const r1 = await late;
    assert.equal(r1.text, 'hello /late');
    assert.ok(r1.ms >= 290);
    assert.ok((await get('/late')).ms < 250, 'times: 1');
    const held = get('/held');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!hits.includes('GET /held'), 'held before the target saw it');
    assert.equal((await held).text, 'hello /held');
    proxy.setRules([]);
    assert.deepEqual(
      proxy.requests.map((q) => [q.path, q.delayedMs]),
      [
        ['/plain', 0],
        ['/late', 300],
        ['/late', 0],
        ['/held', 300],
      ],
    );
  });

  test('delay proxy - a client that leaves during a pause is seen, and a held request never reaches the target', async () => {
    proxy.setRules([{ path: /^\/gone/, when: 'before-request', ms: 400 }]);
    await get('/gone', 100);
    await new Promise((r) => setTimeout(r, 500));
    proxy.setRules([]);
    assert.equal(proxy.requests.at(-1)?.clientGone, true);
    assert.ok(!hits.includes('GET /gone'));
  });
});
