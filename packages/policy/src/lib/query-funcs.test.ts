import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Principal } from '@agentgate/events';
import { compilePolicy } from '../compile.js';

const principal: Principal = {
  issuer: 'https://issuer.example',
  subject: 'repo:acme/app',
  groups: [],
  claims: {},
  ci: { provider: 'generic' },
  sessionId: 's',
  expiresAt: 2_000_000_000,
};

/** A deny rule on `when`, then allow everything: the decision says whether `when` matched. */
function matches(when: string, query: Record<string, string | string[]> | undefined): boolean {
  const p = compilePolicy({
    default: 'deny',
    rules: [
      { name: 'guard', actions: ['http.*'], when, decision: 'deny' },
      { name: 'rest', actions: ['http.*'], decision: 'allow' },
    ],
  });
  const d = p.decide(principal, { kind: 'http.post', connection: 'c', attributes: query === undefined ? {} : { query } });
  assert.equal(d.evaluationError, undefined, `${when}: ${d.evaluationError}`);
  return d.rule === 'guard';
}

test('policy query helpers - a repeated parameter (a list) is matched like a single one', () => {
  const twice = { force: ['false', 'true'] };
  // The trap the helpers exist for: the list form does not equal the string.
  assert.equal(matches("has(attrs.query.force) && attrs.query.force == 'true'", twice), false);
  assert.equal(matches("queryAny(attrs.query, 'force', 'true')", twice), true);
  assert.equal(matches("queryAny(attrs.query, 'force', 'true')", { force: 'true' }), true);
  assert.equal(matches("queryAny(attrs.query, 'force', 'true')", { force: 'false' }), false);
  assert.equal(matches("queryHas(attrs.query, 'force')", twice), true);
  assert.equal(matches("queryHas(attrs.query, 'force')", { force: '' }), true);
  assert.equal(matches("queryHas(attrs.query, 'force')", { other: 'x' }), false);
  assert.equal(matches("queryAll(attrs.query, 'force', 'false')", twice), false);
  assert.equal(matches("queryAll(attrs.query, 'force', 'false')", { force: ['false', 'false'] }), true);
  assert.equal(matches("queryAll(attrs.query, 'force', 'false')", {}), false);
  assert.equal(matches("queryValues(attrs.query, 'force') == ['false', 'true']", twice), true);
  assert.equal(matches("size(queryValues(attrs.query, 'force')) == 1", { force: 'x' }), true);
  assert.equal(matches("queryHas(attrs.query, '_method')", { _method: 'DELETE' }), true);
});

test('policy query helpers - an absent query (e.g. a git action) reads as empty, never as an evaluation error', () => {
  assert.equal(matches("has(attrs.query) && queryAny(attrs.query, 'force', 'true')", undefined), false);
  assert.equal(matches("queryAny({}, 'force', 'true')", undefined), false);
  assert.equal(matches("queryHas('not a map', 'force')", undefined), false);
});

test('policy query helpers - known to the start-up check, so a typo still stops compilation', () => {
  assert.throws(
    () => compilePolicy({ default: 'deny', rules: [{ name: 'x', when: "queryAnyy(attrs.query, 'a', 'b')", decision: 'deny' }] }),
    /unknown function "queryAnyy"/,
  );
});
