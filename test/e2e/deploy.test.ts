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

type PodSpec = {
  securityContext: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  volumes: Array<{ name: string; secret?: { secretName: string } }>;
  containers: Array<{
    command: string[];
    env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
    securityContext: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean; capabilities?: { drop?: string[] } };
    readinessProbe?: unknown;
    livenessProbe?: unknown;
    startupProbe?: unknown;
    resources?: { requests?: { memory?: string }; limits?: { memory?: string } };
    volumeMounts?: Array<{ mountPath: string; subPath?: string }>;
  }>;
};
type Doc = { kind?: string; metadata?: { name?: string }; spec?: Record<string, unknown>; data?: Record<string, string> };

/** `helm template ag deploy/helm/agentgate [args]`, parsed. */
function renderChart(args: string[]): Doc[] {
  const helm = tool('helm', 'go install helm.sh/helm/v3/cmd/helm@v3.22.0 (bash .ci/install-deps.sh)');
  const rendered = execFileSync(helm, ['template', 'ag', join(root, 'deploy/helm/agentgate'), ...args], { encoding: 'utf8' });
  return parseAllDocuments(rendered)
    .map((d) => d.toJS() as Doc)
    .filter(Boolean);
}

/** The pod template of Deployment `name`; fails when there is none. */
function podOf(docs: Doc[], name: string): PodSpec {
  const d = docs.find((x) => x.kind === 'Deployment' && x.metadata?.name === name);
  assert.ok(d?.spec, `Deployment ${name}`);
  return (d.spec as { template: { spec: PodSpec } }).template.spec;
}

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
    // The Elasticsearch variant: OpenSearch and Dashboards leave the default set, every service writes to Elasticsearch.
    const elastic = spawnSync(dc, ['-f', join(root, 'docker-compose.yml'), '-f', join(root, 'docker-compose.elastic.yml'), 'config'], { encoding: 'utf8' });
    assert.equal(elastic.status, 0, elastic.stderr);
    const merged = parseYaml(elastic.stdout) as { services: Record<string, { profiles?: string[]; environment?: Record<string, string>; command?: string[] }> };
    for (const s of ['opensearch', 'opensearch-dashboards', 'dashboards-setup']) assert.deepEqual(merged.services[s]?.profiles, ['opensearch-only'], s);
    for (const s of [...SERVICES, 'setup']) {
      assert.equal(merged.services[s]?.environment?.ELASTICSEARCH_URL, 'http://elasticsearch:9200', s);
      assert.ok(!merged.services[s]?.environment?.OPENSEARCH_URL, `${s} has no OpenSearch URL`);
    }
    assert.ok(merged.services['kibana-setup']?.command?.includes('deploy/kibana/agentgate-saved-objects.ndjson'));
  });

  it('docker-compose.yml - health checks, restart policies, named volumes, loopback-only ports, real image names by default', () => {
    type Svc = {
      image?: string;
      restart?: string;
      healthcheck?: { test: string[] };
      volumes?: string[];
      ports?: string[];
      profiles?: string[];
      depends_on?: Record<string, { condition: string }>;
    };
    const compose = parseYaml(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, Svc>;
      volumes: Record<string, unknown>;
    };
    for (const name of [...SERVICES, 'nats', 'opensearch', 'opensearch-dashboards']) {
      const svc = compose.services[name]!;
      assert.ok(svc.healthcheck?.test.length, `${name} has a health check`);
      assert.equal(svc.restart, 'unless-stopped', `${name} restarts`);
    }
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const p of svc.ports ?? []) assert.match(p, /^127\.0\.0\.1:/, `${name} publishes on loopback only`);
      for (const v of svc.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (!source.startsWith('.')) assert.ok(source in compose.volumes, `${name}: ${source} is a declared named volume`);
        // A bind mount of a file that may not exist would stop container creation: only files and dirs in git are bind-mounted.
        else assert.ok(existsSync(join(root, source)), `${name}: ${source} exists in the repository`);
      }
    }
    assert.equal(compose.services.nats?.image, '${NATS_IMAGE:-nats:2.11-alpine}');
    assert.equal(compose.services.opensearch?.image, '${OPENSEARCH_IMAGE:-opensearchproject/opensearch:2.19.1}');
    assert.match(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), /NODE_IMAGE: \$\{NODE_IMAGE:-node:20-bookworm-slim\}/);
    for (const v of ['nats-data', 'opensearch-data', 'audit-writer-data', 'proxy-data']) assert.ok(v in compose.volumes, v);
    assert.ok(
      compose.services['audit-writer']?.volumes?.some((v) => v.startsWith('audit-writer-data:/var/lib/agentgate')),
      'the checkpoint key survives a restart',
    );
    assert.deepEqual(compose.services['demo-agent']?.profiles, ['demo']);
    assert.equal(compose.services['audit-writer']?.depends_on?.setup?.condition, 'service_completed_successfully');
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

  it('compose configuration - the mounted agentgate.yaml is valid; the environment picks exactly one index', () => {
    const path = join(root, 'deploy/compose/agentgate.yaml');
    const config = loadConfig({ path, env: { NATS_URL: 'nats://nats:4222', OPENSEARCH_URL: 'http://opensearch:9200' } });
    assert.equal(config.bus.natsUrl, 'nats://nats:4222');
    assert.deepEqual(
      config.audit.sinks.map((s) => s.type),
      ['opensearch'],
    );
    const elastic = loadConfig({ path, env: { NATS_URL: 'nats://nats:4222', OPENSEARCH_URL: '', ELASTICSEARCH_URL: 'http://elasticsearch:9200' } });
    assert.deepEqual(
      elastic.audit.sinks.map((s) => s.type),
      ['elasticsearch'],
    );
    // The laptop issuer is trusted, and its groups cannot be had with a GitHub token.
    assert.ok(config.identity.issuers.some((i) => i.issuer === 'http://127.0.0.1:8090'));
    for (const g of config.identity.groups) assert.equal((g.when as Record<string, unknown>)['iss'], 'http://127.0.0.1:8090', g.name);
    assert.equal(config.audit.checkpoint.keyPath, '/var/lib/agentgate/checkpoint-key.json');
  });

  it('saved objects - searches point at the index pattern and dashboard panels at searches or visualizations, by reference name and type', () => {
    for (const file of ['opensearch-dashboards/agentgate-saved-objects.ndjson', 'kibana/agentgate-saved-objects.ndjson']) {
      type Obj = { id: string; type: string; attributes: Record<string, unknown>; references: Array<{ id: string; type: string; name: string }> };
      const objects = readFileSync(join(root, 'deploy', file), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Obj);
      const byId = new Map(objects.map((o) => [o.id, o]));
      const pattern = objects.find((o) => o.type === 'index-pattern')!;
      for (const o of objects) {
        for (const r of o.references) assert.equal(byId.get(r.id)?.type, r.type, `${file}: ${o.id} → ${r.id} (${r.type})`);
        const meta = o.attributes['kibanaSavedObjectMeta'] as { searchSourceJSON?: string } | undefined;
        if (o.type === 'search') {
          const source = JSON.parse(meta?.searchSourceJSON ?? '{}') as { indexRefName?: string };
          const ref = o.references.find((r) => r.name === source.indexRefName);
          assert.equal(ref?.id, pattern.id, `${file}: ${o.id} searches the agentgate index pattern`);
        }
        if (o.type === 'dashboard') {
          const panels = JSON.parse(String(o.attributes['panelsJSON'])) as Array<{ panelRefName: string }>;
          assert.ok(panels.length >= 5);
          // Panels are saved searches or visualizations (whose own searches are checked above through their references).
          for (const p of panels) {
            const type = byId.get(o.references.find((r) => r.name === p.panelRefName)?.id ?? '')?.type;
            assert.ok(type === 'search' || type === 'visualization', `${file}: panel ${p.panelRefName} is a search or visualization (${type})`);
          }
        }
      }
      // The pattern covers the indices the writer creates with the templates' prefix.
      const template = JSON.parse(
        readFileSync(join(root, 'deploy', file.startsWith('kibana') ? 'elasticsearch' : 'opensearch', 'index-template.json'), 'utf8'),
      ) as { index_patterns: string[] };
      assert.ok(template.index_patterns.includes(String(pattern.attributes['title'])), `${file}: ${pattern.attributes['title']}`);
    }
  });

  it('helm chart - helm lint passes; one Deployment per service, each admitted by restricted Pod Security, with probes and resources', () => {
    const helm = tool('helm', 'go install helm.sh/helm/v3/cmd/helm@v3.22.0 (bash .ci/install-deps.sh)');
    const chart = join(root, 'deploy/helm/agentgate');
    const lint = spawnSync(helm, ['lint', '--strict', chart], { encoding: 'utf8' });
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
    const docs = renderChart([]);
    const deployments = docs.filter((d) => d?.kind === 'Deployment');
    assert.deepEqual(deployments.map((d) => d.metadata?.name).sort(), SERVICES.map((s) => `ag-${s}`).sort());
    for (const d of deployments) {
      const pod = (d.spec as { template: { spec: PodSpec } }).template.spec;
      const name = d.metadata?.name ?? '';
      // The checks of the "restricted" Pod Security level (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
      assert.equal(pod.securityContext.runAsNonRoot, true, name);
      assert.equal(pod.securityContext.seccompProfile?.type, 'RuntimeDefault', name);
      assert.equal(pod.automountServiceAccountToken, false, name);
      assert.equal(pod.serviceAccountName, 'ag-agentgate', name);
      for (const c of pod.containers) {
        assert.match(c.command.join(' '), /^node services\/[a-z-]+\/dist\/main\.js$/);
        assert.equal(c.securityContext.allowPrivilegeEscalation, false, name);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true, name);
        assert.deepEqual(c.securityContext.capabilities?.drop, ['ALL'], name);
        assert.equal(c.securityContext.runAsNonRoot, true, name);
        assert.ok(c.readinessProbe && c.livenessProbe && c.startupProbe, `${name} has probes`);
        assert.ok(c.resources?.requests?.memory && c.resources?.limits?.memory, `${name} has resources`);
        for (const m of c.volumeMounts ?? []) assert.equal(m.subPath, undefined, `${name}: ${m.mountPath} is not a subPath mount (it would never rotate)`);
        assert.ok(
          c.env.some((e) => e.name === 'AGENTGATE_NATS_PASSWORD' && e.valueFrom?.secretKeyRef?.key === name.slice(3)),
          `${name} has its own NATS password`,
        );
      }
    }
    const writer = deployments.find((d) => d.metadata?.name === 'ag-audit-writer')!;
    const wpod = (writer.spec as { template: { spec: PodSpec } }).template.spec;
    assert.equal(wpod.volumes.find((v) => v.name === 'checkpoint-key')?.secret?.secretName, 'ag-checkpoint-key', 'the checkpoint key comes from a Secret');
    for (const kind of ['NetworkPolicy', 'PodDisruptionBudget']) assert.equal(docs.filter((d) => d?.kind === kind).length, SERVICES.length, kind);
    assert.equal(docs.filter((d) => d?.kind === 'ServiceAccount').length, 1);
    const svc = docs.find((d) => d?.kind === 'Service') as { spec: { ports: Array<{ name: string; port: number; appProtocol: string }> } };
    assert.deepEqual(
      svc.spec.ports.map((p) => [p.name, p.port, p.appProtocol]),
      [['http', 8080, 'http']],
      'the Service says plain HTTP',
    );
    const auth = docs.find((d) => d?.metadata?.name === 'ag-nats-authorization')?.data?.['authorization.conf'] ?? '';
    for (const s of SERVICES) assert.match(auth, new RegExp(`user: ${s}\\n`), `a NATS user for ${s}`);
    // The proxy reads its own inbox, KV watches and $SRV discovery requests (ping/info/stats), never a secrets subject.
    assert.match(auth, /subscribe: \{ allow: \["_INBOX_proxy\.>", "\$KV\.>", "\$SRV\.>"\], deny: \["secrets\.>"\] \}/);
  });

  it("helm chart - every service's rendered configuration passes start-up validation (NATS user, inbox prefix, TLS, index, checkpoint key)", () => {
    const docs = renderChart([
      '--set',
      'nats.url=tls://nats:4222',
      '--set',
      'nats.tls.secretName=nats-tls',
      '--set',
      'nats.tls.clientCert=true',
      '--set',
      'index.url=https://os:9200',
      '--set',
      'index.username=agentgate',
      '--set',
      'index.passwordSecret=os-pw',
      '--set',
      'index.caSecret=os-ca',
      '--set',
      'brokerSecrets[0].name=github-token',
      '--set',
      'brokerSecrets[0].secretName=gh',
    ]);
    for (const s of SERVICES) {
      const text = docs.find((d) => d?.kind === 'ConfigMap' && d.metadata?.name === `ag-${s}-config`)?.data?.['agentgate.yaml'];
      assert.ok(text, `ConfigMap of ${s}`);
      const file = join(work, `helm-${s}.yaml`);
      writeFileSync(file, text);
      const config = loadConfig({ path: file, env: { NATS_URL: 'tls://nats:4222' } });
      assert.equal(config.policy.default, 'deny');
      assert.deepEqual(config.bus.nats, {
        user: s,
        passwordEnv: 'AGENTGATE_NATS_PASSWORD',
        inboxPrefix: `_INBOX_${s.replace('-', '_')}`,
        tls: { caFile: '/etc/agentgate/nats-tls/ca.crt', certFile: '/etc/agentgate/nats-tls/tls.crt', keyFile: '/etc/agentgate/nats-tls/tls.key' },
      });
      assert.deepEqual(config.audit.sinks, [{ type: 'opensearch', url: 'https://os:9200', username: 'agentgate', passwordEnv: 'AGENTGATE_INDEX_PASSWORD' }]);
      assert.equal(config.audit.checkpoint.keyPath, '/etc/agentgate/checkpoint-key/checkpoint-key.json');
    }
    const c = podOf(docs, 'ag-secret-broker').containers[0]!;
    assert.ok(c.volumeMounts?.some((m) => m.mountPath === '/run/secrets/github-token' && m.subPath === undefined));
    const w = podOf(docs, 'ag-audit-writer').containers[0]!;
    assert.ok(
      w.env.some((e) => e.name === 'NODE_EXTRA_CA_CERTS' && e.value === '/etc/agentgate/index-ca/ca.crt'),
      'the index CA is trusted',
    );
  });

  it('helm chart - scaling out: nats.replicas reaches every pod, auditWriter.partitions makes one writer Deployment per chain partition, proxy and masking replicas', () => {
    const env = (pod: PodSpec, name: string) => pod.containers[0]!.env.find((e) => e.name === name)?.value;
    const defaults = renderChart([]);
    for (const s of SERVICES) assert.equal(env(podOf(defaults, `ag-${s}`), 'NATS_REPLICAS'), '3', `${s}: R3 streams and KV by default`);
    assert.equal(env(podOf(defaults, 'ag-audit-writer'), 'AUDIT_PARTITION'), undefined, 'one partition: the writer keeps writer-0 of the config file');

    const docs = renderChart([
      '--set',
      'auditWriter.partitions=2',
      '--set',
      'nats.replicas=1',
      '--set',
      'services.proxy.replicas=4',
      '--set',
      'services.masking.replicas=3',
    ]);
    type Deployment = {
      metadata: { name: string };
      spec: {
        replicas: number;
        strategy?: { type: string };
        selector: { matchLabels: Record<string, string> };
        template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
      };
    };
    const deployments = docs.filter((d) => d.kind === 'Deployment') as unknown as Deployment[];
    const byName = (n: string) => deployments.find((d) => d.metadata.name === n);
    assert.deepEqual(deployments.map((d) => d.metadata.name).sort(), [
      'ag-audit-writer-0',
      'ag-audit-writer-1',
      'ag-identity',
      'ag-masking',
      'ag-proxy',
      'ag-secret-broker',
    ]);
    assert.equal(byName('ag-proxy')?.spec.replicas, 4);
    assert.equal(byName('ag-masking')?.spec.replicas, 3);
    const config = docs.find((d) => d.kind === 'ConfigMap' && d.metadata?.name === 'ag-audit-writer-config')?.data?.['agentgate.yaml'];
    assert.ok(config, 'the writers share one configuration');
    const file = join(work, 'helm-partitioned-writer.yaml');
    writeFileSync(file, config);
    const selectors = new Set<string>();
    for (const i of [0, 1]) {
      const d = byName(`ag-audit-writer-${i}`)!;
      assert.equal(d.spec.replicas, 1, 'one writer per partition');
      assert.equal(d.spec.strategy?.type, 'Recreate', 'the old writer of a partition stops before the new one starts');
      assert.equal(d.spec.selector.matchLabels['agentgate.io/partition'], `writer-${i}`);
      assert.equal(d.spec.template.metadata.labels['agentgate.io/partition'], `writer-${i}`, 'the pods match their own Deployment only');
      assert.equal(d.spec.template.metadata.labels['app.kubernetes.io/component'], 'audit-writer', 'network policy and PDB still select them');
      selectors.add(JSON.stringify(d.spec.selector.matchLabels));
      const pod = d.spec.template.spec;
      assert.equal(env(pod, 'AUDIT_PARTITION'), `writer-${i}`);
      assert.equal(env(pod, 'NATS_REPLICAS'), '1');
      assert.equal(pod.volumes.find((v) => v.name === 'checkpoint-key')?.secret?.secretName, 'ag-checkpoint-key', 'every partition signs with the one key');
      // What the writer process sees: the shared file plus its environment.
      const c = loadConfig({
        path: file,
        env: { NATS_URL: 'nats://nats:4222', AUDIT_PARTITION: env(pod, 'AUDIT_PARTITION'), NATS_REPLICAS: env(pod, 'NATS_REPLICAS') },
      });
      assert.equal(c.audit.partition, `writer-${i}`);
      assert.equal(c.bus.streams.replicas, 1);
    }
    assert.equal(selectors.size, 2, 'the writer Deployments do not share a selector');

    const helm = tool('helm', 'go install helm.sh/helm/v3/cmd/helm@v3.22.0 (bash .ci/install-deps.sh)');
    const chart = join(root, 'deploy/helm/agentgate');
    const scaled = spawnSync(helm, ['template', 'ag', chart, '--set', 'services.audit-writer.replicas=2'], { encoding: 'utf8' });
    assert.notEqual(scaled.status, 0);
    assert.match(scaled.stderr, /services\.audit-writer\.replicas must be 1: one writer per chain partition/);
    const none = spawnSync(helm, ['template', 'ag', chart, '--set', 'auditWriter.partitions=0'], { encoding: 'utf8' });
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /auditWriter\.partitions must be at least 1/);
  });

  it('helm chart - metrics.enabled: every service serves /metrics on the metrics port, annotated for Prometheus and let through its NetworkPolicy; off by default', () => {
    type Ports = Array<{ name: string; containerPort: number }>;
    type Deployment = { spec: { template: { metadata: { annotations?: Record<string, string> }; spec: PodSpec } } };
    type Policy = { metadata: { name: string }; spec: { ingress: Array<{ ports: Array<{ port: number }>; from?: unknown[] }> } };
    const deployment = (docs: Doc[], name: string) => docs.find((d) => d.kind === 'Deployment' && d.metadata?.name === name) as unknown as Deployment;
    const configOf = (docs: Doc[], s: string) => {
      const file = join(work, `helm-metrics-${s}.yaml`);
      writeFileSync(file, docs.find((d) => d.kind === 'ConfigMap' && d.metadata?.name === `ag-${s}-config`)?.data?.['agentgate.yaml'] ?? '');
      return loadConfig({ path: file, env: { NATS_URL: 'nats://nats:4222' } });
    };
    const policy = (docs: Doc[], s: string) => docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata?.name === `ag-${s}`) as unknown as Policy;

    const off = renderChart([]);
    for (const s of SERVICES) {
      assert.equal(configOf(off, s).telemetry.metrics.listen, undefined, `${s}: no metrics port by default`);
      const d = deployment(off, `ag-${s}`);
      assert.equal(d.spec.template.metadata.annotations?.['prometheus.io/scrape'], undefined);
      const ports = (d.spec.template.spec.containers[0] as unknown as { ports?: Ports }).ports ?? [];
      assert.ok(!ports.some((p) => p.name === 'metrics'), `${s}: no metrics container port`);
      assert.ok(!policy(off, s).spec.ingress.some((r) => r.ports.some((p) => p.port === 9464)), `${s}: the policy does not open 9464`);
    }
    assert.deepEqual(policy(off, 'masking').spec.ingress, [], 'services other than the proxy take no connections');

    const on = renderChart([
      '--set',
      'metrics.enabled=true',
      '--set',
      'metrics.port=9470',
      '--set-json',
      'metrics.scrapeFrom=[{"namespaceSelector":{"matchLabels":{"name":"monitoring"}}}]',
    ]);
    for (const s of SERVICES) {
      assert.deepEqual(configOf(on, s).telemetry.metrics.listen, { host: '0.0.0.0', port: 9470 }, `${s}: listens on all interfaces of its pod`);
      const d = deployment(on, `ag-${s}`);
      assert.deepEqual(
        [
          d.spec.template.metadata.annotations?.['prometheus.io/scrape'],
          d.spec.template.metadata.annotations?.['prometheus.io/port'],
          d.spec.template.metadata.annotations?.['prometheus.io/path'],
        ],
        ['true', '9470', '/metrics'],
        s,
      );
      const ports = (d.spec.template.spec.containers[0] as unknown as { ports?: Ports }).ports ?? [];
      assert.ok(
        ports.some((p) => p.name === 'metrics' && p.containerPort === 9470),
        `${s}: a metrics container port`,
      );
      const rule = policy(on, s).spec.ingress.find((r) => r.ports.some((p) => p.port === 9470));
      assert.deepEqual(rule?.from, [{ namespaceSelector: { matchLabels: { name: 'monitoring' } } }], `${s}: only the scrapers reach /metrics`);
    }
    const proxyPorts = (deployment(on, 'ag-proxy').spec.template.spec.containers[0] as unknown as { ports: Ports }).ports;
    assert.deepEqual(
      proxyPorts.map((p) => [p.name, p.containerPort]),
      [
        ['http', 8080],
        ['metrics', 9470],
      ],
    );
    assert.ok(
      policy(on, 'proxy').spec.ingress.some((r) => r.ports.some((p) => p.port === 8080)),
      'the proxy still takes requests',
    );
  });

  it('docker-compose.cluster.yml - a 3-node NATS cluster with R3 streams and KV and a second writer partition', () => {
    const dc = tool('docker-compose', 'apt-get install -y --no-install-recommends docker-compose (bash .ci/install-deps.sh)');
    const out = spawnSync(dc, ['-f', join(root, 'docker-compose.yml'), '-f', join(root, 'docker-compose.cluster.yml'), 'config'], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    type Svc = { command?: string[]; environment?: Record<string, string>; volumes?: string[]; depends_on?: Record<string, { condition: string }> };
    const merged = parseYaml(out.stdout) as { services: Record<string, Svc> };
    const nodes = ['nats', 'nats-1', 'nats-2'];
    const names = new Set<string>();
    const stores = new Set<string>();
    for (const n of nodes) {
      const cmd = merged.services[n]?.command ?? [];
      const arg = (flag: string) => cmd[cmd.indexOf(flag) + 1] ?? '';
      assert.equal(arg('--cluster_name'), 'agentgate', n);
      names.add(arg('--server_name'));
      const routes = arg('--routes').split(',');
      assert.deepEqual(
        routes.sort(),
        nodes
          .filter((x) => x !== n)
          .map((x) => `nats://${x}:6222`)
          .sort(),
        `${n} routes to the other two`,
      );
      stores.add((merged.services[n]?.volumes ?? []).find((v) => v.endsWith(':/data') || v.includes(':/data:')) ?? '');
    }
    assert.equal(names.size, 3, 'every node has its own server name');
    assert.equal(stores.size, 3, 'every node has its own store volume');
    for (const s of [...SERVICES, 'audit-writer-1']) assert.equal(String(merged.services[s]?.environment?.NATS_REPLICAS), '3', `${s}: R3`);
    assert.equal(merged.services['audit-writer']?.environment?.AUDIT_PARTITION, 'writer-0');
    const w1 = merged.services['audit-writer-1']!;
    assert.equal(w1.environment?.AUDIT_PARTITION, 'writer-1');
    assert.deepEqual(w1.command, ['node', 'services/audit-writer/dist/main.js']);
    assert.ok(
      w1.volumes?.some((v) => v.startsWith('audit-writer-data:/var/lib/agentgate')),
      'the second writer signs with the same checkpoint key',
    );
    assert.equal(w1.depends_on?.['audit-writer']?.condition, 'service_healthy', 'it starts once the key exists');
  });

  it('Dockerfile - builds every package and starts the one-process gateway by default', () => {
    const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
    assert.match(text, /npm ci/);
    assert.match(text, /turbo run build/);
    assert.match(text, /CMD \["node", "packages\/cli\/dist\/bin\.js", "start"\]/);
    // Numeric, so Kubernetes can check runAsNonRoot against the image.
    assert.match(text, /^USER 10001:10001$/m, 'the image does not run as root');
    assert.match(text, /^HEALTHCHECK .*healthcheck\.mjs/m);
    assert.ok((text.match(/^FROM /gm) ?? []).length >= 3, 'multi-stage');
    assert.match(text, /npm prune --omit=dev/);
    assert.match(text, /rm -rf packages\/testkit test/, 'the test kit and the tests are not in the runtime dependencies');
  });
});
