import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './index.js';

function issuesOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    loadConfig({ text, env, path: '/virtual/agentgate.yaml' });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.code, 'ERR_CONFIG_INVALID');
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected ERR_CONFIG_INVALID');
}

const VALID = `
connections:
  - name: gh
    type: git
    upstream: https://github.com
    credential: { ref: gh-token, inject: bearer }
secrets:
  - { ref: gh-token, source: env, env: GH_TOKEN }
policy:
  rules:
    - { name: git, connections: [gh], actions: ['git.*'], decision: allow }
`;

test('config - empty file gives defaults: loopback 8080, deny by default, local sink', () => {
  const c = loadConfig({ text: '', env: {} });
  assert.equal(c.gateway.listen.host, '127.0.0.1');
  assert.equal(c.gateway.listen.port, 8080);
  assert.equal(c.gateway.limits.maxHeaderBytes, 16384);
  assert.equal(c.bus.dataDir, './.agentgate');
  assert.equal(c.bus.natsUrl, undefined);
  assert.equal(c.policy.default, 'deny');
  assert.equal(c.masking.detectors, 'all');
  assert.equal(c.audit.indexPrefix, 'agentgate-audit');
  assert.equal(c.audit.checkpoint.everyEvents, 1000);
  assert.equal(c.audit.checkpoint.everySeconds, 60);
  assert.equal(c.audit.checkpoint.idleMs, 2000);
  assert.deepEqual(c.audit.sinks, [{ type: 'local', path: './.agentgate/audit' }]);
  assert.equal(c.log.level, 'info');
});

test('config - a valid file loads, options default, and the result is deep-frozen', () => {
  const c = loadConfig({ text: VALID, env: {} });
  const conn = c.connections[0]!;
  assert.equal(conn.type, 'git');
  assert.ok(conn.type === 'git' && conn.options.protectedRefs.length === 0);
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.connections));
  assert.ok(Object.isFrozen(c.connections[0]!.credential));
  assert.ok(Object.isFrozen(c.gateway.listen));
  assert.throws(() => {
    (c.gateway.listen as { port: number }).port = 1;
  }, TypeError);
});

test('config - unknown keys are named by path, at any depth', () => {
  const issues = issuesOf(`
gateway:
  listen: { prot: 1 }
connections:
  - name: gh
    type: http
    upstrem: https://x
`);
  assert.ok(issues.includes('gateway.listen.prot: unknown key'), issues.join('\n'));
  assert.ok(issues.includes('connections[0].upstrem: unknown key'), issues.join('\n'));
  assert.ok(issues.includes('connections[0].upstream: required (string)'), issues.join('\n'));
  assert.deepEqual(issuesOf('gatway: {}\n'), ['gatway: unknown key']);
});

test('config - bad enum values name the allowed set', () => {
  const issues = issuesOf(`
policy:
  rules:
    - { name: a, decision: allow }
    - { name: b, decision: deny }
    - { name: c, decision: maybe }
log: { level: loud }
`);
  assert.ok(issues.includes('policy.rules[2].decision: expected one of allow|deny|review'), issues.join('\n'));
  assert.ok(
    issues.some((i) => i.startsWith('log.level: expected one of fatal|error|warn|info')),
    issues.join('\n'),
  );
});

test('config - wrong types, bad URLs, bad slugs and bad discriminators are named', () => {
  const issues = issuesOf(`
gateway: { listen: { port: "80a" } }
bus: { natsUrl: "http://nats:4222" }
connections:
  - { name: "My.Conn", type: http, upstream: "ftp://x" }
  - { name: k, type: database, upstream: "https://x" }
audit:
  sinks:
    - { type: opensearch, url: "not a url" }
`);
  assert.ok(issues.includes('gateway.listen.port: expected number'), issues.join('\n'));
  assert.ok(
    issues.some((i) => i.startsWith('bus.natsUrl: expected a nats://')),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((i) => i.startsWith('connections[0].name: expected a slug')),
    issues.join('\n'),
  );
  assert.ok(issues.includes('connections[0].upstream: expected an http(s) URL'), issues.join('\n'));
  assert.ok(issues.includes('connections[1].type: expected one of http|git|registry|kubernetes|llm|mcp'), issues.join('\n'));
  assert.ok(issues.includes('audit.sinks[0].url: expected an http(s) URL'), issues.join('\n'));
});

test('config - identity: symmetric algorithms and none rejected at load, discovery vs jwksUri', () => {
  const issues = issuesOf(`
identity:
  issuers:
    - { name: a, issuer: "https://a.example", audiences: [x], algorithms: [HS256] }
    - { name: b, issuer: "https://b.example", audiences: [x], algorithms: [none] }
    - { name: c, issuer: "https://c.example", audiences: [] }
    - { name: d, issuer: "https://d.example", audiences: [x], discovery: false }
`);
  assert.ok(
    issues.some((i) => i.startsWith('identity.issuers[0].algorithms[0]: expected one of RS256|')),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((i) => i.startsWith('identity.issuers[1].algorithms[0]: expected one of')),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((i) => i.startsWith('identity.issuers[2].audiences:')),
    issues.join('\n'),
  );
  assert.ok(issues.includes('identity.issuers[3].jwksUri: required when discovery is false'), issues.join('\n'));
  const ok = loadConfig({
    env: {},
    text: 'identity:\n  issuers:\n    - { name: a, issuer: "https://a.example", audiences: [x], jwksUri: "https://a.example/jwks" }\n    - { name: b, issuer: "https://b.example", audiences: [x] }\n',
  });
  assert.equal(ok.identity.issuers[0]!.discovery, false);
  assert.equal(ok.identity.issuers[1]!.discovery, true);
  assert.deepEqual(ok.identity.issuers[1]!.algorithms, ['RS256']);
  assert.equal(ok.identity.issuers[1]!.clockToleranceSec, 30);
  assert.equal(ok.identity.issuers[1]!.maxTokenBytes, 16384);
});

test('config - per-source secret fields and per-inject credential fields are required', () => {
  const issues = issuesOf(`
secrets:
  - { ref: a, source: env }
  - { ref: b, source: jwe-file, path: /x, key: { env: K, path: /k } }
connections:
  - { name: c, type: http, upstream: "https://x", credential: { ref: a, inject: header } }
`);
  assert.ok(issues.includes('secrets[0].env: required (string)'), issues.join('\n'));
  assert.ok(issues.includes('secrets[1].key: expected exactly one of env or path'), issues.join('\n'));
  assert.ok(issues.includes('connections[0].credential.header: required when inject is header'), issues.join('\n'));
});

test('config - identity: two entries for one issuer url are refused (the later one would shadow the first)', () => {
  const issues = issuesOf(`
identity:
  issuers:
    - { name: gh, issuer: "https://token.actions.githubusercontent.com", audiences: [agentgate] }
    - { name: gh-again, issuer: "https://token.actions.githubusercontent.com", audiences: [other] }
`);
  assert.ok(
    issues.some((i) => i.startsWith('identity.issuers[1].issuer: duplicate issuer')),
    issues.join('\n'),
  );
});

test('config - cross-field: credential refs name secrets, rule connections name connections, names unique', () => {
  const issues = issuesOf(`
connections:
  - { name: gh, type: http, upstream: "https://x", credential: { ref: missing, inject: bearer } }
  - { name: gh, type: http, upstream: "https://y" }
policy:
  rules:
    - { name: r, connections: [gh, nope], decision: allow }
`);
  assert.ok(
    issues.some((i) => i.startsWith('connections[1].name: duplicate connection name')),
    issues.join('\n'),
  );
  const issues2 = issuesOf(`
connections:
  - { name: gh, type: http, upstream: "https://x", credential: { ref: missing, inject: bearer } }
policy:
  rules:
    - { name: r, connections: [gh, nope], decision: allow }
    - { name: r, decision: deny }
`);
  assert.ok(
    issues2.some((i) => i.startsWith('policy.rules[1].name: duplicate rule name')),
    issues2.join('\n'),
  );
  const issues3 = issuesOf(`
connections:
  - { name: gh, type: http, upstream: "https://x", credential: { ref: missing, inject: bearer } }
policy:
  rules:
    - { name: r, connections: [gh, nope], decision: allow }
`);
  assert.ok(
    issues3.some((i) => i.startsWith('connections[0].credential.ref: names no configured secret')),
    issues3.join('\n'),
  );
  assert.ok(
    issues3.some((i) => i.startsWith('policy.rules[0].connections[1]: names no configured connection')),
    issues3.join('\n'),
  );
});

test('config - environment overrides apply and are validated by variable name', () => {
  const c = loadConfig({
    text: VALID,
    env: {
      PORT: '9090',
      HOST: '0.0.0.0',
      NATS_URL: 'nats://127.0.0.1:4222',
      AGENTGATE_DATA_DIR: '/var/lib/agentgate',
      OPENSEARCH_URL: 'http://127.0.0.1:9200',
      ELASTICSEARCH_URL: 'https://es.example:9200',
      LOG_LEVEL: 'debug',
    },
  });
  assert.equal(c.gateway.listen.port, 9090);
  assert.equal(c.gateway.listen.host, '0.0.0.0');
  assert.equal(c.bus.natsUrl, 'nats://127.0.0.1:4222');
  assert.equal(c.bus.dataDir, '/var/lib/agentgate');
  assert.equal(c.log.level, 'debug');
  assert.deepEqual(
    c.audit.sinks.map((s) => s.type),
    ['local', 'opensearch', 'elasticsearch'],
  );
  const replaced = loadConfig({
    text: 'audit:\n  sinks:\n    - { type: opensearch, url: "http://old:9200", indexPrefix: x }\n',
    env: { OPENSEARCH_URL: 'http://new:9200' },
  });
  assert.deepEqual(replaced.audit.sinks, [{ type: 'opensearch', url: 'http://new:9200', indexPrefix: 'x' }]);
  // Several nodes of one cluster, comma-separated: the sink gets the list.
  const nodes = loadConfig({ text: 'audit:\n  sinks: []\n', env: { OPENSEARCH_URL: 'http://os-1:9200, http://os-2:9200' } });
  assert.deepEqual(nodes.audit.sinks, [{ type: 'opensearch', url: ['http://os-1:9200', 'http://os-2:9200'] }]);
  assert.deepEqual(
    issuesOf('', { OPENSEARCH_URL: 'http://os-1:9200,nope' }).map((i) => i.split(':')[0]),
    ['OPENSEARCH_URL'],
  );
  for (const bad of ['abc', '0', '70000', '80.5', '-1']) {
    assert.deepEqual(
      issuesOf('', { PORT: bad }).map((i) => i.split(':')[0]),
      ['PORT'],
      bad,
    );
  }
  assert.deepEqual(
    issuesOf('', { LOG_LEVEL: 'loud' }).map((i) => i.split(':')[0]),
    ['LOG_LEVEL'],
  );
  assert.deepEqual(
    issuesOf('', { NATS_URL: 'localhost' }).map((i) => i.split(':')[0]),
    ['NATS_URL'],
  );
  // Empty variables are ignored rather than overriding with nothing.
  assert.equal(loadConfig({ text: '', env: { PORT: '' } }).gateway.listen.port, 8080);
});

test('config - AUDIT_PARTITION and NATS_REPLICAS set the writer partition and the stream/KV replicas of a scaled-out deployment', () => {
  const d = loadConfig({ text: '', env: {} });
  assert.equal(d.audit.partition, 'writer-0');
  assert.equal(d.bus.streams.replicas, 1);
  const c = loadConfig({ text: 'bus:\n  streams: { maxBytes: 1024 }\n', env: { AUDIT_PARTITION: 'writer-1', NATS_REPLICAS: '3' } });
  assert.equal(c.audit.partition, 'writer-1');
  assert.equal(c.bus.streams.replicas, 3);
  assert.equal(c.bus.streams.maxBytes, 1024, 'the rest of bus.streams is kept');
  for (const bad of ['0', '6', 'three', '3.0']) {
    assert.deepEqual(
      issuesOf('', { NATS_REPLICAS: bad }).map((i) => i.split(':')[0]),
      ['NATS_REPLICAS'],
      bad,
    );
  }
  assert.deepEqual(
    issuesOf('', { AUDIT_PARTITION: 'writer/1' }).map((i) => i.split(':')[0]),
    ['AUDIT_PARTITION'],
  );
  // The file's own value is validated too: 1..5.
  assert.ok(issuesOf('bus:\n  streams: { replicas: 7 }\n', {}).some((i) => i.startsWith('bus.streams.replicas')));
});

test('config - error messages never echo values from the file', () => {
  // Token-shaped values are built at run time so the repository holds nothing a secret scanner would flag.
  const token = ['ghp', 'abcdefghijklmnopqrstuvwxyz0123456789'].join('_');
  const text = `secrets:\n  - { ref: a, source: env, env: "${token}" , value: "sk-live-SECRET" }\n`;
  try {
    loadConfig({ text, env: {} });
    assert.fail('expected an error');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /secrets\[0\]\.value: unknown key/);
    assert.doesNotMatch(err.message, /ghp_|sk-live/);
  }
});

test('config - a YAML root that is not a mapping is invalid', () => {
  assert.throws(() => loadConfig({ text: '- a\n- b\n', env: {} }), { code: 'ERR_CONFIG_INVALID' });
});

test('config - connections.requests: strict defaults, header allowlist lower-cased, never-forwarded headers refused by name', () => {
  const c = loadConfig({ text: VALID, env: {} });
  assert.deepEqual(c.connections[0]!.requests, { allowMatrixParams: false, forwardHeaders: [] });
  assert.equal(c.gateway.audit.refusals.windowMs, 60_000);
  assert.equal(c.gateway.audit.refusals.maxSources, 10_000);
  const relaxed = loadConfig({
    text: VALID.replace(
      'credential: { ref: gh-token, inject: bearer }',
      'credential: { ref: gh-token, inject: bearer }\n    requests: { allowMatrixParams: true, forwardHeaders: [X-Api-Key, via] }',
    ),
    env: {},
  });
  assert.deepEqual(relaxed.connections[0]!.requests, { allowMatrixParams: true, forwardHeaders: ['x-api-key', 'via'] });
  const issues = issuesOf(
    VALID.replace(
      'credential: { ref: gh-token, inject: bearer }',
      'credential: { ref: gh-token, inject: bearer }\n    requests: { forwardHeaders: [Authorization, X-HTTP-Method-Override, "bad name"], other: 1 }',
    ),
  );
  assert.ok(
    issues.some((i) => i.startsWith('connections[0].requests.forwardHeaders[0]: this header is never forwarded')),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((i) => i.startsWith('connections[0].requests.forwardHeaders[1]: this header is never forwarded')),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((i) => i.startsWith('connections[0].requests.forwardHeaders[2]: expected a header name')),
    issues.join('\n'),
  );
  assert.ok(issues.includes('connections[0].requests.other: unknown key'), issues.join('\n'));
});

test('config - kubernetes options default; a client certificate is for kubernetes connections only', () => {
  const cfg = loadConfig({
    env: {},
    text: `
secrets: [ { ref: k, source: env, env: K } ]
connections:
  - { name: cluster, type: kubernetes, upstream: "https://10.0.0.1:6443", credential: { ref: k, inject: client-certificate } }
`,
  });
  const c = cfg.connections[0];
  assert.equal(c?.type, 'kubernetes');
  if (c?.type === 'kubernetes') {
    assert.equal(c.options.impersonate.enabled, false);
    assert.equal(c.options.impersonate.userPrefix, 'agentgate:');
    assert.deepEqual(c.options.protectedNamespaces, []);
    assert.equal(c.options.maxInspectBytes, 3 * 1024 * 1024);
  }
  const cert = issuesOf(`
secrets: [ { ref: k, source: env, env: K } ]
connections:
  - { name: api, type: http, upstream: "https://x", credential: { ref: k, inject: client-certificate } }
`);
  assert.ok(cert.includes('connections[0].credential.inject: client-certificate is supported by kubernetes connections only'), cert.join('\n'));
  const imp = issuesOf('connections:\n  - { name: cluster, type: kubernetes, upstream: "https://x", options: { impersonate: { user: nobody }, caFle: /x } }\n');
  assert.ok(imp.includes('connections[0].options.impersonate.user: expected one of subject|actor'), imp.join('\n'));
  assert.ok(
    imp.some((i) => i.startsWith('connections[0].options.caFle')),
    imp.join('\n'),
  );
});
