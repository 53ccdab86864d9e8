import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { z } from 'zod';
import { testPrincipal } from '../../test/fixtures.js';
import { buildActionEvent, buildExposureEvent, buildRefusalEvent } from '../builders.js';
import { auditEventSchema } from '../schema.js';
import { upgradeEvent } from '../upgrade.js';
import { compileJsonCheck } from './json-check.js';

const check = compileJsonCheck(auditEventSchema);
const now = new Date('2025-06-01T12:00:00.000Z');

/** Valid events of every kind the gateway records, as they arrive on the bus (JSON text parsed). */
function samples(): unknown[] {
  const p = testPrincipal();
  const built = [
    buildActionEvent({
      phase: 'requested',
      principal: p,
      action: { id: 'act-1', kind: 'git.push', connection: 'github', attributes: { refs: 1, deep: { a: [1, 'x', null, true] } } },
      decision: { effect: 'allow', rule: 'allow-main' },
      http: { request: { method: 'POST', id: 'req-1', bytes: 10 }, response: { status_code: 200, bytes: 5 } },
      url: { path: '/git/github/app.git/git-receive-pack' },
      source: { ip: '127.0.0.1', port: 5555 },
      destination: { address: 'github.com', port: 443 },
      userAgent: 'git/2.39',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      labels: { env: 'ci', shard: 3, ok: true },
      now,
    }),
    buildActionEvent({
      phase: 'denied',
      principal: p,
      action: { id: 'act-k', kind: 'kubernetes.delete', connection: 'cluster' },
      decision: { effect: 'deny', rule: 'no-delete-prod', reason: 'prod' },
      kubernetes: { verb: 'delete', api_group: 'apps', api_version: 'apps/v1', resource: 'deployments', namespace: 'prod', name: 'web', dry_run: false },
      now,
    }),
    buildActionEvent({
      phase: 'requested',
      principal: p,
      action: { id: 'act-m', kind: 'mcp.tools.call' },
      link: { exchange_id: 'ex-1', tool_call_id: 'call_7', rule: 'tool-call-match' },
      genAi: { operation: { name: 'execute_tool' }, tool: { name: 'read_file', call: { id: 'call_own' } } },
      now,
    }),
    buildActionEvent({
      phase: 'denied',
      principal: p,
      action: { id: 'act-r', kind: 'registry.tag_overwrite', connection: 'hub' },
      registry: { repository: 'acme/app', tag: 'v1', digest: `sha256:${'a'.repeat(64)}`, tag_existed: true, size: 512 },
      now,
    }),
    buildExposureEvent({
      principal: p,
      action: { id: 'act-e', kind: 'http.request' },
      secretRef: 'github-token',
      findings: [{ type: 'github-pat', ref: 'gh', count: 2 }],
      now,
    }),
    buildRefusalEvent({ code: 'ERR_AUTH_INVALID', reason: 'refused', count: 250, first: now, last: now, source: { ip: '203.0.113.7' }, now }),
  ];
  // Version 1 events (llm, mcp, chain fields), upgraded as decodeEvent does.
  const v1 = JSON.parse(readFileSync(new URL('../../test/fixtures/v1-sealed-chain.json', import.meta.url), 'utf8')) as unknown[];
  return [...built, ...v1.map(upgradeEvent)].map((e) => JSON.parse(JSON.stringify(e)));
}

/** Every value of `v` with its path (objects and arrays walked). */
function* leaves(v: unknown, path: Array<string | number> = []): Generator<Array<string | number>> {
  yield path;
  if (Array.isArray(v)) for (let i = 0; i < v.length; i++) yield* leaves(v[i], [...path, i]);
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) yield* leaves((v as Record<string, unknown>)[k], [...path, k]);
}

function setAt(root: unknown, path: Array<string | number>, value: unknown, remove = false): unknown {
  const copy = structuredClone(root);
  if (path.length === 0) return value;
  let cur = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) {
    if (Array.isArray(cur)) cur.splice(last as number, 1);
    else delete cur[last];
  } else cur[last] = value;
  return copy;
}

const REPLACEMENTS: unknown[] = [
  null,
  '',
  'x',
  '2025-06-01T12:00:00.000Z',
  '2025-13-01T12:00:00Z',
  'a'.repeat(64),
  'A'.repeat(64),
  0,
  -1,
  1.5,
  70000,
  2 ** 60,
  true,
  [],
  ['x'],
  [1],
  {},
  { type: 'text', content: 'c' },
  { unknown: 1 },
];

test('json-check - accepts every valid event as zod does (the fast path is taken)', () => {
  for (const e of samples()) {
    assert.equal(auditEventSchema.safeParse(e).success, true);
    assert.equal(check(e), true, JSON.stringify(e).slice(0, 200));
  }
});

test('json-check - never accepts what zod refuses (every field replaced, removed, or joined by an unknown key)', () => {
  let mutants = 0;
  let refused = 0;
  for (const e of samples()) {
    for (const path of leaves(e)) {
      const variants: unknown[] = REPLACEMENTS.map((r) => setAt(e, path, r));
      variants.push(setAt(e, path, undefined, true));
      if (path.length > 0) variants.push(setAt(e, [...path.slice(0, -1), 'zz_unknown'], 'x'));
      for (const m of variants) {
        mutants++;
        const zodOk = auditEventSchema.safeParse(m).success;
        if (!zodOk) refused++;
        if (check(m)) assert.equal(zodOk, true, `fast check accepted what zod refuses at ${path.join('.')}: ${JSON.stringify(m).slice(0, 300)}`);
      }
    }
  }
  // The mutations do reach invalid events (the assertion above is not vacuous).
  assert.ok(refused > 1000, `${refused} of ${mutants}`);
});

test('json-check - keys zod treats specially and schemas it does not know are left to zod', () => {
  const e = samples()[0] as { labels: Record<string, unknown>; agentgate: { action: { attributes: Record<string, unknown> } } };
  const proto = JSON.parse(JSON.stringify(e).replace('"env":', '"__proto__":'));
  assert.equal(check(proto), false);
  // A schema node outside the understood set (a transform, a stripping object) is never accepted by the checker.
  assert.equal(compileJsonCheck(z.string().transform((s) => s.length))('x'), false);
  assert.equal(compileJsonCheck(z.object({ a: z.string() }))({ a: 'x' }), false);
  assert.equal(compileJsonCheck(z.string().refine((s) => s !== 'x'))('x'), false);
  assert.equal(
    compileJsonCheck(z.strictObject({ a: z.string().min(2) }))({ a: '\u{1F600}' }),
    z.strictObject({ a: z.string().min(2) }).safeParse({ a: '\u{1F600}' }).success,
  );
});
