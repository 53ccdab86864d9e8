import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bcryptHtpasswdLine } from './htpasswd.js';

test('htpasswd - produces a bcrypt line for the user without the clear password', () => {
  const line = bcryptHtpasswdLine('upstream-bot', 'pw-secret');
  assert.match(line, /^upstream-bot:\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/);
  assert.ok(!line.includes('pw-secret'));
  assert.notEqual(bcryptHtpasswdLine('upstream-bot', 'pw-secret'), line, 'salted: two lines differ');
});
