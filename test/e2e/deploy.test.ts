import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '@agentgate/config';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const root = resolve(import.meta.dirname, '../..');
const SERVICES = ['identity', 'secret-broker', 'masking', 'audit-writer', 'proxy'];
const work = mkdtempSync(join(tmpdir(), 'agentgate-deploy-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The validators are real tools; a missing one fails the test and says how to install it. */
function tool(name: string, hint: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat([join(process.env.HOME ?? '/root', 'go/bin')])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  assert.fail(`${name} not found: ${hint}`);
}

describe('deploy', () => {
  it('docker-compose.yml - docker-compose validates it, and a broken copy is rejected', () => {
    const dc = tool('docker-compose', 'apt-get install -y --no-install-recommends docker-compose (bash .ci/install-deps.sh)');
    const ok = spawnSync(dc, ['-f', join(root, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    const broken = join(work, 'broken-compose.yml');
    writeFileSync(broken, readFileSync(join(root, 'docker-compose.yml'), 'utf8').replace('restart: unless-stopped', 'restart: [not, a, string]'));
    assert.notEqual(spawnSync(dc, ['-f', broken, 'config', '-q'], { encoding: 'utf8' }).status, 0);
  });

  it('docker-compose.yml - runs every service as its own process with an entry point that exists', () => {
    const compose = parseYaml(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { command?: string[] }> };
    for (const svc of SERVICES) {
      const command = compose.services[svc]?.command;
      assert.deepEqual(command, ['node', `services/${svc}/dist/main.js`], `compose service ${svc}`);
      assert.ok(existsSync(join(root, 'services', svc, 'src', 'main.ts')), `services/${svc}/src/main.ts`);
    }
    assert.ok(compose.services.nats && compose.services.opensearch, 'nats and opensearch are part of the stack');
  });

  it('compose configuration - the mounted agentgate.yaml is valid', () => {
    const config = loadConfig({
      path: join(root, 'deploy/compose/agentgate.yaml'),
      env: { NATS_URL: 'nats://nats:4222', OPENSEARCH_URL: 'http://opensearch:9200' },
    });
    assert.equal(config.bus.natsUrl, 'nats://nats:4222');
    assert.ok(config.audit.sinks.some((s) => s.type === 'opensearch'));
  });

  it('helm chart - helm lint passes and the rendered manifests hold one Deployment per service', () => {
    const helm = tool('helm', 'go install helm.sh/helm/v3/cmd/helm@v3.22.0 (bash .ci/install-deps.sh)');
    const chart = join(root, 'deploy/helm/agentgate');
    const lint = spawnSync(helm, ['lint', chart], { encoding: 'utf8' });
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
    const rendered = execFileSync(helm, ['template', 'ag', chart], { encoding: 'utf8' });
    const docs = parseAllDocuments(rendered).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; spec?: Record<string, unknown>; data?: Record<string, string> });
    const deployments = docs.filter((d) => d?.kind === 'Deployment');
    assert.deepEqual(deployments.map((d) => d.metadata?.name).sort(), SERVICES.map((s) => `ag-${s}`).sort());
    for (const d of deployments) {
      const pod = (d.spec as { template: { spec: { containers: Array<{ command: string[]; securityContext: { allowPrivilegeEscalation: boolean } }> } } }).template.spec;
      const c = pod.containers[0]!;
      assert.match(c.command.join(' '), /^node services\/[a-z-]+\/dist\/main\.js$/);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    }
    const cm = docs.find((d) => d?.kind === 'ConfigMap');
    const text = cm?.data?.['agentgate.yaml'];
    assert.ok(text, 'the ConfigMap carries agentgate.yaml');
    const file = join(work, 'helm-agentgate.yaml');
    writeFileSync(file, text);
    // The chart's default configuration must pass the same validation as start-up.
    assert.equal(loadConfig({ path: file, env: {} }).policy.default, 'deny');
  });

  it('Dockerfile - builds every package and starts the one-process gateway by default', () => {
    const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
    assert.match(text, /npm ci/);
    assert.match(text, /turbo run build/);
    assert.match(text, /CMD \["node", "packages\/cli\/dist\/bin\.js", "start"\]/);
    assert.match(text, /USER agentgate/, 'the image does not run as root');
  });
});
