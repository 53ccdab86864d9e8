import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { buildTestImage, DOCKER_BASE_IMAGE, dockerCli } from '../src/index.js';

test('docker - the engine answers (or the test fails saying to run .ci/install-docker.sh), and a FROM scratch test image gets one layer per file', async () => {
  const cli = await dockerCli();
  const tag = `agentgate-test/layers:${randomBytes(4).toString('hex')}`;
  try {
    assert.match(cli.serverVersion, /^\d+\.\d+/);
    await buildTestImage(cli, {
      tag,
      layers: [
        { name: 'a.bin', size: 1024 },
        { name: 'b.txt', content: 'hello' },
      ],
    });
    const inspect = await cli.run(['image', 'inspect', '--format', '{{len .RootFS.Layers}}', tag]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(inspect.stdout.trim(), '2');
    const base = await cli.run(['image', 'inspect', '--format', '{{.Id}}', DOCKER_BASE_IMAGE]);
    assert.equal(base.code, 0, `the base image ${DOCKER_BASE_IMAGE} exists (built by .ci/install-docker.sh)`);
  } finally {
    await cli.run(['rmi', '-f', tag]);
    cli.close();
  }
});
