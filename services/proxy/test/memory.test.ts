import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type Harness, startHarness } from './harness.js';
import { measureRss } from './rss.js';

const MB = 1024 * 1024;

describe('streaming keeps memory flat', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  test('memory - a 200 MB response streams through the proxy (masked) with flat RSS', async () => {
    // Warm up so lazily allocated pools and JIT are not counted as growth.
    await fetchCount(h, '/api/big?mb=4');
    const { result: bytes, ms, baseline, growthMb: growth } = await measureRss(() => fetchCount(h, '/api/big?mb=200'));
    console.log(
      `# 200 MB through the proxy in ${ms.toFixed(0)} ms (${((200 / ms) * 1000).toFixed(0)} MB/s); RSS baseline ${(baseline / MB).toFixed(0)} MB, peak growth ${growth.toFixed(1)} MB`,
    );
    assert.equal(bytes, 200 * MB);
    // Upstream, proxy and client share this process: buffering the body anywhere would add ~200 MB.
    assert.ok(growth < 80, `RSS grew by ${growth.toFixed(1)} MB`);
  });
});

function fetchCount(h: Harness, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: h.proxy.port, path, headers: { authorization: `Bearer ${h.token}` } }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(n));
      res.on('error', reject);
    }).on('error', reject);
  });
}
