import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileConstraint, enforceConstraints } from './constraints.js';

test('constraints - equals compares exactly (no substring, no prefix)', () => {
  const c = compileConstraint('repository_owner', 'acme');
  assert.equal(c.test({ repository_owner: 'acme' }), true);
  assert.equal(c.test({ repository_owner: 'acme-evil' }), false);
  assert.equal(c.test({ repository_owner: 'ACME' }), false);
  assert.equal(c.test({}), false);
  assert.equal(c.test({ repository_owner: { toString: () => 'acme' } }), false, 'objects never match');
});

test('constraints - list means any of; booleans compare by string form; array claims match a member', () => {
  assert.equal(compileConstraint('ns', ['a', 'b']).test({ ns: 'b' }), true);
  assert.equal(compileConstraint('ref_protected', 'true').test({ ref_protected: true }), true);
  assert.equal(compileConstraint('groups', 'ops').test({ groups: ['dev', 'ops'] }), true);
});

test('constraints - a missing constrained claim is reported as missing', () => {
  assert.throws(() => enforceConstraints({}, [compileConstraint('x', 'y')]), { code: 'ERR_TOKEN_CLAIM_MISSING' });
  assert.throws(() => enforceConstraints({ x: 'z' }, [compileConstraint('x', 'y')]), { code: 'ERR_TOKEN_CLAIM_CONSTRAINT' });
});
