import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { auditEventSchema, buildActionEvent } from '@agentgate/events';
import { deployDir } from '../src/lib/setup.js';
import { templateLeafTypes } from './helpers.js';

interface SavedObject {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  references: Array<{ id: string; type: string }>;
}

function load(path: string): SavedObject[] {
  return readFileSync(`${deployDir()}/${path}`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SavedObject);
}

function mappedFields(template: string): Set<string> {
  return new Set(templateLeafTypes(template).keys());
}

interface Agg {
  type: string;
  params: { field?: string };
}

/** The aggregations of a visualization (legacy visState: the same format in Kibana and OpenSearch Dashboards). */
function aggsOf(o: SavedObject): Agg[] {
  if (o.type !== 'visualization') return [];
  return (JSON.parse(o.attributes['visState'] as string) as { aggs: Agg[] }).aggs;
}

/** Field types each aggregation can run on. */
const AGG_TYPES: Record<string, string[]> = {
  terms: ['keyword', 'long', 'integer', 'boolean', 'ip'],
  date_histogram: ['date'],
  sum: ['long', 'integer', 'double', 'float'],
  max: ['long', 'integer', 'double', 'float', 'date'],
  avg: ['long', 'integer', 'double', 'float'],
};

/** Fields a saved object uses: columns, sort, KQL query fields, time field. */
function referencedFields(o: SavedObject): string[] {
  const a = o.attributes;
  const fields: string[] = [];
  if (typeof a['timeFieldName'] === 'string') fields.push(a['timeFieldName']);
  for (const c of (a['columns'] as string[] | undefined) ?? []) fields.push(c);
  for (const agg of aggsOf(o)) if (agg.params.field !== undefined) fields.push(agg.params.field);
  for (const s of (a['sort'] as Array<[string, string]> | undefined) ?? []) fields.push(s[0]);
  const meta = a['kibanaSavedObjectMeta'] as { searchSourceJSON?: string } | undefined;
  if (meta?.searchSourceJSON) {
    const q = (JSON.parse(meta.searchSourceJSON) as { query?: { query?: string } }).query?.query ?? '';
    for (const m of q.matchAll(/([A-Za-z_@][\w.@]*)\s*:/g)) fields.push(m[1]!);
  }
  return fields;
}

for (const [flavor, file, template] of [
  ['kibana', 'kibana/agentgate-saved-objects.ndjson', 'elasticsearch/index-template.json'],
  ['opensearch dashboards', 'opensearch-dashboards/agentgate-saved-objects.ndjson', 'opensearch/index-template.json'],
] as const) {
  test(`saved objects - every field the ${flavor} objects reference exists in the index template`, () => {
    const objects = load(file);
    const mapped = mappedFields(template);
    const used = objects.flatMap(referencedFields);
    assert.ok(used.length > 20, 'the objects reference fields');
    const missing = used.filter((f) => !mapped.has(f));
    assert.deepEqual(missing, []);
  });

  test(`saved objects - the ${flavor} file has a data view, the five searches, seven visualizations and a dashboard showing them, whose references resolve`, () => {
    const objects = load(file);
    const ids = new Set(objects.map((o) => o.id));
    assert.deepEqual(objects.map((o) => o.type).sort(), [
      'dashboard',
      'index-pattern',
      'search',
      'search',
      'search',
      'search',
      'search',
      ...Array(7).fill('visualization'),
    ]);
    for (const o of objects) for (const r of o.references) assert.ok(ids.has(r.id), `${o.id} references missing ${r.id}`);
    // The saved searches the SOC asks for by name.
    for (const id of ['agentgate-force-push-attempts', 'agentgate-approvals', 'agentgate-secret-exposures', 'agentgate-session-timeline'])
      assert.ok(ids.has(id), id);
    // The dashboard shows every visualization and every search.
    const dash = objects.find((o) => o.type === 'dashboard')!;
    const shown = new Set(dash.references.map((r) => r.id));
    for (const o of objects) if (o.type === 'visualization' || o.type === 'search') assert.ok(shown.has(o.id), `dashboard lacks ${o.id}`);
    assert.equal((JSON.parse(dash.attributes['panelsJSON'] as string) as unknown[]).length, dash.references.length);
  });

  test(`saved objects - every ${flavor} visualization aggregates fields of a type its aggregation accepts`, () => {
    const types = templateLeafTypes(template);
    const objects = load(file);
    const checked: string[] = [];
    const wrong: string[] = [];
    for (const o of objects) {
      for (const agg of aggsOf(o)) {
        if (agg.params.field === undefined) continue;
        const t = types.get(agg.params.field);
        checked.push(agg.params.field);
        if (t === undefined || !(AGG_TYPES[agg.type] ?? []).includes(t)) wrong.push(`${o.id}: ${agg.type} on ${agg.params.field} (${t ?? 'not mapped'})`);
      }
    }
    assert.ok(checked.length >= 14, 'the visualizations aggregate fields');
    assert.deepEqual(wrong, []);
    assert.equal(objects.find((o) => o.type === 'index-pattern')!.attributes['title'], 'agentgate-audit-*');
  });
}

/** Every leaf path of a JSON value (`a.b.c`; array elements share their parent's path). */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => leafPaths(v, prefix));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  return [prefix];
}

for (const template of ['elasticsearch/index-template.json', 'opensearch/index-template.json']) {
  test(`saved objects - every approval field of an event is mapped in ${template} (the mapping is strict)`, () => {
    const sha = 'b'.repeat(64);
    const ev = buildActionEvent({
      phase: 'approved',
      principal: { issuer: 'https://i.test', subject: 's', groups: ['g'], claims: {}, ci: { provider: 'generic' }, sessionId: 'x', expiresAt: 0 },
      action: { id: 'a', kind: 'http.post' },
      approval: {
        id: 'a',
        status: 'approved',
        requested_at: '2025-01-01T00:00:00.000Z',
        expires_at: '2025-01-01T00:05:00.000Z',
        decided_at: '2025-01-01T00:01:00.000Z',
        reason: 'ok',
        approver: { subject: 'r', issuer: 'https://i.test', groups: ['approvers'], session_id: 'y' },
        body_sha256: sha,
        body_bytes: 1,
        binding_sha256: sha,
        policy_version: sha,
        decided_via: 'gw',
      },
    });
    const mapped = mappedFields(template);
    const paths = leafPaths(ev.agentgate.approval, 'agentgate.approval');
    assert.ok(paths.length >= 14);
    assert.deepEqual(
      paths.filter((p) => !mapped.has(p)),
      [],
    );
  });
}

// agentgate.registry (registry adapter): every key of the event schema's object is mapped, with its type, in both templates.
test('index templates - agentgate.registry: every field of the event schema is mapped in both templates', () => {
  const registry = auditEventSchema.shape.agentgate.shape.registry.unwrap().shape;
  const expected: Record<string, string> = { size: 'long', tag_existed: 'boolean' };
  for (const template of ['elasticsearch/index-template.json', 'opensearch/index-template.json']) {
    const t = JSON.parse(readFileSync(`${deployDir()}/${template}`, 'utf8')) as {
      template: { mappings: { properties: { agentgate: { properties: { registry: { properties: Record<string, { type: string }> } } } } } };
    };
    const mapped = t.template.mappings.properties.agentgate.properties.registry.properties;
    assert.deepEqual(Object.keys(mapped).sort(), Object.keys(registry).sort(), template);
    for (const [field, m] of Object.entries(mapped)) assert.equal(m.type, expected[field] ?? 'keyword', `${template}: agentgate.registry.${field}`);
  }
});

for (const template of ['elasticsearch/index-template.json', 'opensearch/index-template.json']) {
  test(`saved objects - every kubernetes field of an event is mapped in ${template} (the mapping is strict)`, () => {
    const ev = buildActionEvent({
      phase: 'completed',
      principal: { issuer: 'https://i.test', subject: 's', groups: ['g'], claims: {}, ci: { provider: 'generic' }, sessionId: 'x', expiresAt: 0 },
      action: { id: 'a', kind: 'kubernetes.exec' },
      kubernetes: {
        verb: 'create',
        api_group: 'apps',
        api_version: 'apps/v1',
        resource: 'pods',
        subresource: 'exec',
        namespace: 'dev',
        name: 'web',
        path: '/version',
        dry_run: false,
        patch_type: 'merge',
        scale_to_zero: false,
        replicas: 1,
        impersonated_user: 'agentgate:s',
        status_reason: 'NotFound',
        masked_values: 1,
        session: {
          protocol: 'v5.channel.k8s.io',
          bytes_in: 1,
          bytes_out: 2,
          messages_in: 1,
          messages_out: 1,
          channels: { stdout: { bytes: 2, text: 'hi', truncated: false } },
          end: 'client-closed',
        },
      },
    });
    const mapped = mappedFields(template);
    const paths = leafPaths(ev.agentgate.kubernetes, 'agentgate.kubernetes');
    assert.ok(paths.length >= 20);
    // session.channels is one flattened field (keys are channel names).
    const unmapped = paths.filter(
      (p) => !mapped.has(p) && !(p.startsWith('agentgate.kubernetes.session.channels.') && mapped.has('agentgate.kubernetes.session.channels')),
    );
    assert.deepEqual(unmapped, []);
  });
}
