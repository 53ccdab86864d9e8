import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { renderKubeconfig } from './kubeconfig-yaml.js';

describe('kubeconfig-yaml', () => {
  it('one context per connection, the first current, the same user for each, values quoted', () => {
    const text = renderKubeconfig(
      [
        { connection: 'prod', server: 'https://gw.example/prod', namespace: 'apps', certificateAuthority: '/ca.pem' },
        { connection: 'dev', server: 'https://gw.example/dev' },
      ],
      { exec: { command: '/usr/bin/node', args: ['cli.js', 'ci', 'token', '--format', 'exec-credential'] } },
    );
    const kc = parse(text);
    assert.equal(kc['current-context'], 'agentgate-prod');
    assert.deepEqual(
      kc.clusters.map((c: { name: string; cluster: { server: string } }) => [c.name, c.cluster.server]),
      [
        ['agentgate-prod', 'https://gw.example/prod'],
        ['agentgate-dev', 'https://gw.example/dev'],
      ],
    );
    assert.equal(kc.clusters[0].cluster['certificate-authority'], '/ca.pem');
    assert.equal(kc.clusters[1].cluster['certificate-authority'], undefined);
    assert.equal(kc.contexts[0].context.namespace, 'apps');
    assert.equal(kc.contexts[1].context.namespace, undefined);
    for (const u of kc.users) {
      assert.equal(u.user.exec.command, '/usr/bin/node');
      assert.deepEqual(u.user.exec.args, ['cli.js', 'ci', 'token', '--format', 'exec-credential']);
      assert.equal(u.user.exec.interactiveMode, 'Never');
    }
  });

  it('a static token, and a server with YAML-special characters, stay exact', () => {
    const kc = parse(renderKubeconfig([{ connection: 'c', server: 'https://gw.example/a: #b' }], { token: 'ey"J: x' }));
    assert.equal(kc.clusters[0].cluster.server, 'https://gw.example/a: #b');
    assert.equal(kc.users[0].user.token, 'ey"J: x');
  });

  it('refuses an empty list (kubectl would fall back to another cluster)', () => {
    assert.throws(() => renderKubeconfig([], { token: 't' }), TypeError);
  });
});
