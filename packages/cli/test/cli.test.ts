import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '@agentgate/config';
import { type Output, runCli, sampleConfigPath, startGateway } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'agentgate-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function capture(): Output & { text(): string } {
  const lines: string[] = [];
  return { out: (l) => lines.push(l), err: (l) => lines.push(l), text: () => lines.join('\n') };
}

describe('cli', () => {
  it('config check - the shipped sample is valid and exits 0', async () => {
    const io = capture();
    assert.equal(await runCli(['config', 'check', sampleConfigPath()], io), 0);
    assert.match(io.text(), /^ok: /);
  });

  it('config check - a bad key is named and the exit code is 1', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'connections:\n  - name: api\n    type: http\n    upstrem: http://127.0.0.1:1\n');
    const io = capture();
    assert.equal(await runCli(['config', 'check', file], io), 1);
    assert.match(io.text(), /connections\[0\]\.upstrem: unknown key/);
  });

  it('config check - a missing file says so', async () => {
    const io = capture();
    assert.equal(await runCli(['config', 'check', join(dir, 'nope.yaml')], io), 1);
    assert.match(io.text(), /not found/);
  });

  it('usage - an unknown command exits 2 with the usage text', async () => {
    const io = capture();
    assert.equal(await runCli(['frobnicate'], io), 2);
    assert.match(io.text(), /unknown command "frobnicate"/);
  });

  it('start - the one-process gateway answers identity.verify on its in-process bus and stops cleanly', async () => {
    const config = loadConfig({ path: sampleConfigPath(), env: { AGENTGATE_DATA_DIR: join(dir, 'data') } });
    const gw = await startGateway(config, { only: ['identity'] });
    assert.equal(gw.bus.transport, 'inproc');
    await assert.rejects(gw.bus.request('identity.verify', { token: 'not-a-jwt' }), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'ERR_TOKEN_MALFORMED');
      return true;
    });
    await gw.stop();
  });
});
