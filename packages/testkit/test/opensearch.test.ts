import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type OpenSearchNode, startOpenSearch } from '@agentgate/testkit';

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...init?.headers },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function searchHits(os: OpenSearchNode, index: string, query: object): Promise<Array<{ _id: string }>> {
  const res = await json(`${os.url}/${index}/_search`, { method: 'POST', body: JSON.stringify({ query }) });
  assert.equal(res.status, 200);
  return (res.body.hits as { hits: Array<{ _id: string }> }).hits;
}

describe('opensearch', () => {
  let os: OpenSearchNode;

  before(async () => {
    os = await startOpenSearch();
    console.log(`OpenSearch start-up: ${os.startupMs} ms (port ${os.port}, cold JVM)`);
  });

  after(async () => {
    await os?.close();
  });

  test('opensearch - starts a single green/yellow node on loopback', async () => {
    assert.match(os.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const root = await json(os.url);
    assert.equal((root.body.version as { number: string }).number, '2.19.1');
    const health = await json(`${os.url}/_cluster/health`);
    assert.equal(health.body.number_of_nodes, 1);
    assert.equal(health.body.cluster_name, os.clusterName);
  });

  test('opensearch - indexes a document and finds it with a search', async () => {
    const put = await json(`${os.url}/audit-test/_doc/evt-1?refresh=true`, {
      method: 'PUT',
      body: JSON.stringify({ action: 'git.push', ref: 'refs/heads/main', actor: 'ci@example' }),
    });
    assert.equal(put.status, 201);
    const hits = await searchHits(os, 'audit-test', { match: { action: 'git.push' } });
    assert.deepEqual(
      hits.map((h) => h._id),
      ['evt-1'],
    );
    const none = await searchHits(os, 'audit-test', { match: { action: 'kubectl.delete' } });
    assert.equal(none.length, 0);
  });

  test('opensearch - keeps its data across stop/start on the same port', async () => {
    const urlBefore = os.url;
    await os.stop();
    assert.equal(os.running, false);
    await assert.rejects(fetch(urlBefore, { signal: AbortSignal.timeout(2000) }));
    await os.start();
    console.log(`OpenSearch restart: ${os.startupMs} ms (warm page cache, existing data)`);
    assert.equal(os.url, urlBefore);
    const hits = await searchHits(os, 'audit-test', { match: { action: 'git.push' } });
    assert.deepEqual(
      hits.map((h) => h._id),
      ['evt-1'],
    );
  });
});
