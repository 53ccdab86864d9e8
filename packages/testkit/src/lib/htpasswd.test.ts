import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bcryptHtpasswdLine } from './htpasswd.js';

test('htpasswd - produces a bcrypt line for the user without the clear password', () => {
  const line = bcryptHtpasswdLine('upstream-bot', 'pw-secret');
  assert.match(line, /^upstream-bot:\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/);
  assert.ok(!line.includes('pw-secret'));
  assert.notEqual(bcryptHtpasswdLine('upstream-bot', 'pw-secret'), line, 'salted: two lines differ');
});

test('htpasswd - the line verifies against the password and not another (bcryptjs, no binary or Python)', async () => {
  const bcrypt = (await import('bcryptjs')).default;
  const hash = bcryptHtpasswdLine('bot', 'right-password').slice('bot:'.length);
  assert.equal(bcrypt.compareSync('right-password', hash), true);
  assert.equal(bcrypt.compareSync('wrong-password', hash), false);
});

test('htpasswd - a user name that would break the file is refused with ERR_HTPASSWD', () => {
  assert.throws(() => bcryptHtpasswdLine('a:b', 'pw'), { code: 'ERR_HTPASSWD' });
  assert.throws(() => bcryptHtpasswdLine('a\nb', 'pw'), { code: 'ERR_HTPASSWD' });
});
