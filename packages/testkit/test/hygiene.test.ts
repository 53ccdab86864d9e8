import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { TestkitError, startNats, waitFor } from '@agentgate/testkit';

const fixture = fileURLToPath(new URL('./fixtures/start-and-end.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('process hygiene', () => {
  for (const mode of ['exit', 'throw', 'signal', 'sigkill'] as const) {
    test(`process hygiene - servers die and temp dirs go when the test process ends (${mode})`, async () => {
      const child = spawn(process.execPath, ['--conditions=agentgate-source', '--import', 'tsx', fixture, mode], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', () => undefined);
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      const info = await waitFor(
        () => {
          const line = out.split('\n').find((l) => l.startsWith('{'));
          return line ? (JSON.parse(line) as { pid: number; port: number; dir: string }) : undefined;
        },
        { timeoutMs: 20_000, what: 'the fixture to start nats' },
      );
      assert.ok(alive(info.pid), 'nats-server runs while the test process lives');
      assert.ok(await accepts(info.port));
      assert.ok(existsSync(info.dir));
      if (mode === 'signal') child.kill('SIGTERM');
      // SIGKILL runs no exit hook: the watchdog's and reaper's pipes closing is what cleans up.
      else if (mode === 'sigkill') child.kill('SIGKILL');
      else child.stdin.write('go\n');
      await closed;
      await waitFor(() => !alive(info.pid), { timeoutMs: 5_000, what: 'the server process group to end' });
      await waitFor(async () => !(await accepts(info.port)), { timeoutMs: 5_000, what: 'nats-server to be killed' });
      // After SIGKILL no hook runs: the reaper removes the dir when our pipe closes.
      await waitFor(() => !existsSync(info.dir), { timeoutMs: 5_000, what: 'the temp dir to be removed' });
    });
  }

  test('process hygiene - a server that cannot start fails with ERR_START_FAILED and its log tail', async () => {
    await assert.rejects(startNats({ args: ['-c', '/nonexistent/agentgate-testkit.conf'] }), (err: unknown) => {
      assert.ok(err instanceof TestkitError);
      assert.equal(err.code, 'ERR_START_FAILED');
      assert.match(err.message, /nats-server exited early/);
      assert.match(err.message, /--- last lines of .*nats-server\.log ---/);
      assert.match(err.message, /agentgate-testkit\.conf/);
      return true;
    });
  });
});
