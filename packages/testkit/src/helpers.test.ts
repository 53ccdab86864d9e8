import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { TestkitError } from './errors.js';
import { freePort, freePortInRange, isPortFree } from './free-port.js';
import { redactCredentials } from './git-cli.js';
import { findBinary, requireBinary } from './require-binary.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

test('requireBinary - returns the absolute path of a binary on PATH', () => {
  assert.equal(requireBinary('git', 'apt-get install -y git'), findBinary('git'));
  assert.match(requireBinary('git', 'x'), /^\/.*\/git$/);
});

test('requireBinary - throws ERR_BINARY_MISSING naming the install command', () => {
  assert.throws(
    () => requireBinary('no-such-server-xyz', 'apt-get install -y no-such-server-xyz'),
    (err: unknown) => {
      assert.ok(err instanceof TestkitError);
      assert.equal(err.code, 'ERR_BINARY_MISSING');
      assert.equal(err.message, 'no-such-server-xyz not found on PATH: apt-get install -y no-such-server-xyz');
      return true;
    },
  );
});

test('freePort - returns a bindable loopback port, isPortFree sees a listener', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  assert.equal(await isPortFree(port), true);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  try {
    assert.equal(await isPortFree(port), false);
  } finally {
    server.close();
  }
});

test('freePortInRange - stays within the range and fails with ERR_PORT_UNAVAILABLE when all are taken', async () => {
  const port = await freePortInRange(20000, 20100);
  assert.ok(port >= 20000 && port <= 20100);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  try {
    await assert.rejects(freePortInRange(port, port), { code: 'ERR_PORT_UNAVAILABLE' });
  } finally {
    server.close();
  }
});

test('tempDir - creates a directory that cleanup() removes', () => {
  const dir = tempDir('unit');
  assert.match(dir.path, /agentgate-unit-/);
  writeFileSync(join(dir.path, 'f'), 'x');
  dir.cleanup();
  assert.equal(existsSync(dir.path), false);
  dir.cleanup();
});

test('waitFor - resolves with the first truthy value, treating throws as not yet', async () => {
  let calls = 0;
  const value = await waitFor(
    () => {
      calls++;
      if (calls < 3) throw new Error('not yet');
      return calls === 3 ? 'ready' : undefined;
    },
    { intervalMs: 1 },
  );
  assert.equal(value, 'ready');
  assert.equal(calls, 3);
});

test('waitFor - times out with ERR_TIMEOUT and the last error as cause', async () => {
  await assert.rejects(
    waitFor(
      () => {
        throw new Error('still down');
      },
      { timeoutMs: 50, intervalMs: 5, what: 'the thing' },
    ),
    (err: unknown) => {
      assert.ok(err instanceof TestkitError);
      assert.equal(err.code, 'ERR_TIMEOUT');
      assert.match(err.message, /the thing/);
      assert.equal((err.cause as Error).message, 'still down');
      return true;
    },
  );
});

test('waitFor - a TestkitError thrown by fn is final, not retried', async () => {
  let calls = 0;
  await assert.rejects(
    waitFor(
      () => {
        calls++;
        throw new TestkitError('ERR_PORT_UNAVAILABLE', 'port answers for another server');
      },
      { timeoutMs: 5_000, intervalMs: 1 },
    ),
    { code: 'ERR_PORT_UNAVAILABLE' },
  );
  assert.equal(calls, 1);
});

test('waitFor - abortIf stops waiting early with ERR_START_FAILED', async () => {
  const t0 = Date.now();
  await assert.rejects(
    waitFor(() => false, { timeoutMs: 5_000, abortIf: () => 'process exited' }),
    {
      code: 'ERR_START_FAILED',
    },
  );
  assert.ok(Date.now() - t0 < 1_000);
});

test('redactCredentials - hides URL userinfo and Authorization values', () => {
  assert.equal(redactCredentials('http://bot:s3cret@127.0.0.1:1/x.git'), 'http://***@127.0.0.1:1/x.git');
  assert.equal(redactCredentials('Authorization: Bearer tok123'), 'Authorization: Bearer ***');
  assert.equal(redactCredentials('-c http.extraHeader=Authorization: Basic dXNlcjpwdw=='), '-c http.extraHeader=Authorization: Basic ***');
});
