import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type AuditEvent, GENESIS_HASH, buildActionEvent, buildRefusalEvent, sealEvent } from '@agentgate/events';
import { OCSF_VERSION, OcsfFileSink, type OcsfRecord, toOcsf } from '../src/index.js';
import { tmp } from './helpers.js';

// Required attributes of the OCSF 1.3 classes the sink emits (ocsf-schema: events/base_event.json,
// events/application/api.json, events/iam/authentication.json, objects/metadata.json, product.json, api.json).
const BASE_REQUIRED = ['activity_id', 'category_uid', 'class_uid', 'metadata', 'severity_id', 'time', 'type_uid'];
const CLASS_REQUIRED: Record<number, string[]> = { 6003: ['actor', 'api', 'src_endpoint'], 3002: ['user'] };
const OBJECT_REQUIRED: Record<string, string[]> = { metadata: ['product', 'version'], 'metadata.product': ['vendor_name'], api: ['operation'] };
/** Objects whose attributes are all optional but of which at least one must be there. */
const AT_LEAST_ONE: Record<string, string[]> = {
  actor: ['process', 'user', 'invoked_by', 'session', 'app_name'],
  'actor.user': ['account', 'name', 'uid'],
  src_endpoint: ['ip', 'uid', 'name', 'hostname', 'instance_uid', 'interface_uid', 'interface_name', 'domain', 'svc_name'],
  user: ['account', 'name', 'uid'],
};

const get = (o: OcsfRecord, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);

/** The problems of a record against the required attributes and constraints (empty when valid). */
function ocsfProblems(r: OcsfRecord): string[] {
  const out: string[] = [];
  const cls = r['class_uid'] as number;
  if (!(cls in CLASS_REQUIRED)) out.push(`class_uid ${cls} is not one the sink emits`);
  for (const a of [...BASE_REQUIRED, ...(CLASS_REQUIRED[cls] ?? [])]) if (r[a] === undefined) out.push(`missing ${a}`);
  for (const [obj, attrs] of Object.entries(OBJECT_REQUIRED)) {
    if (get(r, obj) === undefined) continue;
    for (const a of attrs) if (get(r, `${obj}.${a}`) === undefined) out.push(`missing ${obj}.${a}`);
  }
  for (const [obj, attrs] of Object.entries(AT_LEAST_ONE)) {
    if (get(r, obj) === undefined) continue;
    if (!attrs.some((a) => get(r, `${obj}.${a}`) !== undefined)) out.push(`${obj} needs one of ${attrs.join(', ')}`);
  }
  if (cls === 3002 && r['service'] === undefined && r['dst_endpoint'] === undefined) out.push('authentication needs service or dst_endpoint');
  if (r['type_uid'] !== cls * 100 + (r['activity_id'] as number)) out.push('type_uid is not class_uid * 100 + activity_id');
  if (get(r, 'metadata.version') !== OCSF_VERSION) out.push('metadata.version');
  if (typeof r['time'] !== 'number' || !Number.isFinite(r['time'])) out.push('time is not epoch milliseconds');
  return out;
}

const principal = {
  issuer: 'https://token.actions.githubusercontent.com',
  subject: 'repo:acme/app:ref:refs/heads/main',
  groups: ['developers'],
  claims: {},
  ci: { provider: 'github-actions' as const, repository: 'acme/app', actor: 'octocat' },
  sessionId: 'acme/app:7:1',
  expiresAt: 0,
};
const now = new Date('2026-01-01T10:00:00Z');

function events(): AuditEvent[] {
  const list = [
    buildActionEvent({
      phase: 'denied',
      principal,
      action: { id: 'a1', kind: 'git.force_push', connection: 'github' },
      decision: { effect: 'deny', rule: 'no-force-push', reason: 'history is never rewritten' },
      git: { refs: [{ ref: 'refs/heads/main', old: 'a'.repeat(40), new: 'b'.repeat(40), kind: 'force-push' }] },
      source: { ip: '10.0.0.7' },
      now,
    }),
    buildActionEvent({
      phase: 'held',
      principal,
      action: { id: 'a2', kind: 'registry.tag_overwrite', connection: 'ghcr' },
      decision: { effect: 'review', rule: 'tags-reviewed' },
      registry: { repository: 'acme/app', tag: '1.0' },
      now,
    }),
    buildActionEvent({
      phase: 'completed',
      principal,
      action: { id: 'a3', kind: 'http.get', connection: 'api' },
      decision: { effect: 'allow', rule: 'read-ok' },
      url: { path: '/repos/acme/app', full: 'https://api.github.com/repos/acme/app' },
      http: { request: { method: 'GET' }, response: { status_code: 200 } },
      destination: { address: 'api.github.com', port: 443 },
      now,
    }),
    buildActionEvent({
      phase: 'requested',
      principal,
      action: { id: 'a4', kind: 'kubernetes.delete', connection: 'prod' },
      decision: { effect: 'allow' },
      url: { path: '/api/v1/namespaces/ci/pods/x' },
      now,
    }),
    buildRefusalEvent({
      code: 'ERR_AUTH_INVALID',
      reason: 'the token signature does not verify',
      count: 3,
      first: now,
      last: now,
      connection: 'github',
      source: { ip: '203.0.113.9' },
      now,
    }),
  ];
  let prev = GENESIS_HASH;
  return list.map((e, i) => {
    const s = sealEvent(e, { partition: 'writer-0', seq: i + 1, prevHash: prev });
    prev = s.event.hash!;
    return s;
  });
}

test('ocsf - every record has the required attributes of its class (API Activity 6003, Authentication 3002)', () => {
  const records = events().map(toOcsf);
  assert.deepEqual(
    records.map((r) => r['class_uid']),
    [6003, 6003, 6003, 6003, 3002],
  );
  for (const r of records) assert.deepEqual(ocsfProblems(r), [], JSON.stringify(r));
});

test('ocsf - actor, api, resources and the decision as action/disposition; the chain in metadata and unmapped', () => {
  const evs = events();
  const [denied, held, read, del, refused] = evs.map(toOcsf) as OcsfRecord[];
  assert.deepEqual(get(denied!, 'actor.user'), { uid: principal.subject, name: 'octocat', groups: [{ name: 'developers' }] });
  assert.equal(get(denied!, 'api.operation'), 'git.force_push');
  assert.deepEqual(denied!['resources'], [{ type: 'git_ref', name: 'refs/heads/main', labels: ['force-push'] }]);
  assert.deepEqual([denied!['action_id'], denied!['disposition_id'], denied!['activity_id']], [2, 2, 3]);
  assert.deepEqual(get(denied!, 'policy'), { name: 'no-force-push', uid: 'no-force-push' });
  assert.equal(denied!['status_detail'], 'history is never rewritten');
  assert.deepEqual([held!['disposition'], read!['disposition'], read!['activity_name'], del!['activity_name']], ['Delayed', 'Allowed', 'Read', 'Delete']);
  assert.deepEqual(held!['resources'], [{ type: 'container_repository', name: 'acme/app' }]);
  assert.deepEqual(get(read!, 'http_request'), { http_method: 'GET', url: { url_string: 'https://api.github.com/repos/acme/app' } });
  assert.equal(get(denied!, 'metadata.uid'), evs[0]!.event.id);
  assert.equal(get(held!, 'metadata.sequence'), 2);
  assert.deepEqual(get(held!, 'unmapped.chain.previous_hash'), get(denied!, 'unmapped.chain.hash.value'));
  assert.deepEqual([get(refused!, 'status_code'), get(refused!, 'count'), get(refused!, 'src_endpoint.ip')], ['ERR_AUTH_INVALID', 3, '203.0.113.9']);
});

test('ocsf - the check rejects a record that lacks a required attribute', () => {
  const r = toOcsf(events()[0]!);
  delete r['actor'];
  delete (r['metadata'] as Record<string, unknown>)['product'];
  assert.deepEqual(ocsfProblems(r), ['missing actor', 'missing metadata.product']);
});

test('ocsf sink - JSON lines, one per event, a redelivery is "exists" and fillers are not exported', async () => {
  const path = join(tmp('ocsf'), 'out', 'agentgate.ocsf.jsonl');
  const sink = new OcsfFileSink(path);
  await sink.setup();
  const docs = events().map((e) => ({ id: e.event.id, doc: e as unknown as Record<string, unknown>, timestamp: e['@timestamp'] }));
  const filler = { id: 'filler-writer-0-9', doc: { agentgate: { filler: { kind: 'dead-letter' } } }, timestamp: now.toISOString() };
  assert.deepEqual(
    (await sink.write([...docs, filler])).map((o) => o.status),
    ['created', 'created', 'created', 'created', 'created', 'created'],
  );
  // A fresh sink on the same file (a restart) knows what is there.
  const again = new OcsfFileSink(path);
  assert.deepEqual(
    (await again.write(docs.slice(0, 2))).map((o) => o.status),
    ['exists', 'exists'],
  );
  assert.deepEqual([...(await again.existing([docs[0]!.id, 'nope']))], [docs[0]!.id]);
  const lines = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as OcsfRecord);
  assert.equal(lines.length, 5);
  for (const r of lines) assert.deepEqual(ocsfProblems(r), []);
});
