import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ECS_VERSION, auditEventSchema, fieldMappings } from '@agentgate/events';
import type { z } from 'zod';
import { deployDir } from '../src/lib/setup.js';
import { templateLeafTypes } from './helpers.js';

// Issue 20, "ECS, exactly": every field the project writes (event schema, both index templates) is an ECS
// field of ECS's type or lives under agentgate.*, and no agentgate.* field repeats an ECS one.

/** name → type of every ECS field (ECS 9.5.0-dev, a copy of ../shared/ecs-fields.tsv). */
const ECS = new Map(
  readFileSync(new URL('./fixtures/ecs-fields.tsv', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('name\t'))
    .map((l) => {
      const [name, type] = l.split('\t');
      return [name!, type!] as const;
    }),
);

type Kind = 'string' | 'date' | 'number' | 'boolean' | 'flattened' | 'object';

/** Every leaf of the zod schema with the kind of value it holds (`mapped` nodes are leaves). */
function schemaLeaves(schema: z.ZodType, path: string, out: Map<string, Kind>): Map<string, Kind> {
  const m = fieldMappings.get(schema);
  if (m) {
    out.set(path, m.mapping === 'object' ? 'object' : 'flattened');
    return out;
  }
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case 'object':
      for (const [k, v] of Object.entries(def['shape'] as Record<string, z.ZodType>)) schemaLeaves(v, path ? `${path}.${k}` : k, out);
      return out;
    case 'optional':
    case 'nullable':
    case 'default':
      return schemaLeaves(def['innerType'] as z.ZodType, path, out);
    case 'array':
      return schemaLeaves(def['element'] as z.ZodType, path, out);
    case 'union': {
      const kinds = new Set([...(def['options'] as z.ZodType[])].map((o) => schemaLeaves(o, path, new Map()).get(path)));
      assert.equal(kinds.size, 1, `${path}: a union of different kinds cannot be one field`);
      out.set(path, [...kinds][0]!);
      return out;
    }
    case 'string':
      out.set(path, (def['format'] as string | undefined) === 'datetime' ? 'date' : 'string');
      return out;
    case 'enum':
    case 'literal':
      out.set(path, typeof (def['values'] as unknown[] | undefined)?.[0] === 'number' ? 'number' : 'string');
      return out;
    case 'number':
      out.set(path, 'number');
      return out;
    case 'boolean':
      out.set(path, 'boolean');
      return out;
    case 'record':
      // An open object (arbitrary keys) is one flattened field unless the schema marks it otherwise.
      out.set(path, 'flattened');
      return out;
    default:
      assert.fail(`${path}: schema node of type ${def.type} is not walked (give it a mapping)`);
  }
}

/** Field types each value kind may be indexed as. */
const KIND_TYPES: Record<Kind, string[]> = {
  string: ['keyword', 'wildcard', 'match_only_text', 'text', 'ip', 'constant_keyword'],
  date: ['date'],
  number: ['long', 'integer', 'short', 'byte', 'double', 'float', 'scaled_float'],
  boolean: ['boolean'],
  flattened: ['flattened'],
  object: ['object'],
};

/** Every leaf of a template's mappings with its type; OpenSearch's flat_object is ECS's flattened. */
function templateLeaves(file: string): Map<string, string> {
  return new Map([...templateLeafTypes(file)].map(([field, type]) => [field, type === 'flat_object' ? 'flattened' : type]));
}

/** Fields the issue names as custom duplicates of ECS fields: none may come back. */
const KNOWN_DUPLICATES = [
  'agentgate.decision.rule',
  'agentgate.decision.reason',
  'agentgate.chain.hash',
  'agentgate.chain.seq',
  'agentgate.principal.groups',
  'agentgate.principal.subject',
  'agentgate.action.kind',
  'agentgate.llm.model',
  'agentgate.llm.response_model',
  'agentgate.llm.finish_reason',
  'agentgate.llm.usage',
  'agentgate.llm.max_tokens',
  'agentgate.llm.prompt',
  'agentgate.llm.completion',
  'agentgate.llm.tool_calls',
  'agentgate.llm.provider',
  'agentgate.link.tool_call_id',
  'agentgate.mcp.tool',
  'agentgate.mcp.error.code',
  'agentgate.refusal.code',
];

/** Problems of one set of fields: not ECS and not agentgate.*, an ECS field of another type, an agentgate.* copy of ECS. */
function problems(fields: Map<string, string>, typeOk: (field: string, type: string, ecsType: string) => boolean): string[] {
  const out: string[] = [];
  for (const [field, type] of fields) {
    if (field.startsWith('agentgate.')) {
      const rest = field.slice('agentgate.'.length);
      if (ECS.has(rest)) out.push(`${field} repeats ECS ${rest}`);
      if (KNOWN_DUPLICATES.some((d) => field === d || field.startsWith(`${d}.`))) out.push(`${field} is a known duplicate of an ECS field`);
      continue;
    }
    const ecsType = ECS.get(field);
    if (ecsType === undefined) out.push(`${field} is neither an ECS field nor under agentgate.*`);
    else if (!typeOk(field, type, ecsType)) out.push(`${field} is ${type}, ECS says ${ecsType}`);
  }
  return out;
}

const TEMPLATES = ['elasticsearch/index-template.json', 'opensearch/index-template.json'] as const;

test('ecs - the field list is the one the schema names (ECS 9.5.0-dev) and is not empty', () => {
  assert.equal(ECS_VERSION, '9.5.0-dev');
  assert.ok(ECS.size > 2000);
  assert.equal(ECS.get('event.sequence'), 'long');
});

test('ecs - every field of the event schema is an ECS field of a fitting type or lives under agentgate.*', () => {
  const leaves = schemaLeaves(auditEventSchema, '', new Map());
  assert.ok(leaves.size > 100, 'the walk reaches the leaves');
  const found = problems(leaves, (_f, kind, ecsType) => KIND_TYPES[kind as Kind].includes(ecsType));
  assert.deepEqual(found, []);
});

for (const file of TEMPLATES) {
  test(`ecs - every field of ${file} is an ECS field of exactly ECS's type or lives under agentgate.*`, () => {
    const found = problems(templateLeaves(file), (_f, type, ecsType) => type === ecsType);
    assert.deepEqual(found, []);
  });

  test(`ecs - every field of the event schema is mapped in ${file} with a type that holds its values`, () => {
    const mapped = templateLeaves(file);
    const missing: string[] = [];
    for (const [field, kind] of schemaLeaves(auditEventSchema, '', new Map())) {
      const type = mapped.get(field);
      if (type === undefined) missing.push(`${field} not mapped`);
      else if (!KIND_TYPES[kind].includes(type)) missing.push(`${field}: ${kind} value in a ${type} field`);
    }
    assert.deepEqual(missing, []);
  });
}

test('ecs - the Elasticsearch and OpenSearch templates map the same fields with the same types, at the same version', () => {
  const [es, os] = TEMPLATES.map(templateLeaves) as [Map<string, string>, Map<string, string>];
  assert.deepEqual([...os.entries()].sort(), [...es.entries()].sort());
  for (const file of TEMPLATES) {
    const t = JSON.parse(readFileSync(`${deployDir()}/${file}`, 'utf8')) as {
      version: number;
      template: { settings: { index: Record<string, unknown> }; mappings: { _meta: Record<string, unknown> } };
    };
    assert.equal(t.version, 2, file);
    // Both engines skip scheduled refreshes of a shard nobody searches (search-idle) only when refresh_interval is not set.
    assert.equal(t.template.settings.index['refresh_interval'], undefined, file);
    assert.deepEqual([t.template.mappings._meta['ecs_version'], t.template.mappings._meta['schema_version']], [ECS_VERSION, 2], file);
  }
});

test('ecs - the check finds what it is for (a custom duplicate, a wrong type, a stray field)', () => {
  const bad = new Map([
    ['agentgate.decision.rule', 'keyword'],
    ['agentgate.rule.name', 'keyword'],
    ['url.full', 'keyword'],
    ['decision', 'keyword'],
  ]);
  assert.equal(problems(bad, (_f, t, e) => t === e).length, 4);
});
