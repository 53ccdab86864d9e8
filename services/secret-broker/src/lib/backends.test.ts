import assert from 'node:assert/strict';
import { rename, writeFile, utimes } from 'node:fs/promises';
import { test } from 'node:test';
import { generateSealKey, generateSealKeyPair, sealSecretFile } from '../seal.js';
import { SECRET, tmp } from '../../test/helpers.js';
import { createBackends } from './backends.js';

function one(secret: Parameters<typeof createBackends>[0][number], env: Record<string, string> = {}) {
  const b = createBackends([secret], env).get(secret.ref);
  assert.ok(b);
  return b;
}

async function refused(p: Promise<unknown>, forbidden: string[]) {
  await assert.rejects(p, (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_SECRET_UNAVAILABLE');
    for (const f of forbidden) assert.equal(err.message.includes(f), false, 'error message leaks secret material');
    return true;
  });
}

test('backend env - reads the variable on each lease and trims a trailing newline', async () => {
  const env: Record<string, string> = { TOKEN: `${SECRET}\n` };
  const b = one({ ref: 't', source: 'env', env: 'TOKEN' }, env);
  assert.equal(await b.read(), SECRET);
  env['TOKEN'] = 'rotated';
  assert.equal(await b.read(), 'rotated');
});

test('backend env - unset or empty variables are unavailable', async () => {
  await refused(one({ ref: 't', source: 'env', env: 'NOPE' }).read(), []);
  await refused(one({ ref: 't', source: 'env', env: 'EMPTY' }, { EMPTY: '\n' }).read(), []);
});

test('backend file - reads the file and trims trailing newlines', async () => {
  const t = tmp();
  try {
    await writeFile(t.path('token'), `${SECRET}\r\n`);
    assert.equal(await one({ ref: 'f', source: 'file', path: t.path('token') }).read(), SECRET);
  } finally {
    t.cleanup();
  }
});

test('backend file - a changed file is picked up without a restart (in place and by rename)', async () => {
  const t = tmp();
  const b = one({ ref: 'f', source: 'file', path: t.path('token') });
  try {
    await writeFile(t.path('token'), 'first-value');
    assert.equal(await b.read(), 'first-value');
    // Same size, mtime forced back: the watch (or the ctime in the stamp) still tells.
    const before = new Date(Date.now() - 60_000);
    await utimes(t.path('token'), before, before);
    assert.equal(await b.read(), 'first-value');
    await writeFile(t.path('token'), 'secnd-value');
    await utimes(t.path('token'), before, before);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await b.read(), 'secnd-value');
    // Atomic replace, like a Kubernetes secret update: a new inode.
    await writeFile(t.path('token.new'), 'third-value-longer');
    await rename(t.path('token.new'), t.path('token'));
    assert.equal(await b.read(), 'third-value-longer');
  } finally {
    b.close();
    t.cleanup();
  }
});

test('backend file - a missing file is unavailable and the message holds no contents', async () => {
  const t = tmp();
  try {
    await refused(one({ ref: 'f', source: 'file', path: t.path('absent') }).read(), []);
    await writeFile(t.path('empty'), '\n');
    await refused(one({ ref: 'f', source: 'file', path: t.path('empty') }).read(), []);
  } finally {
    t.cleanup();
  }
});

test('backend jwe-file - dir + A256GCM with a symmetric key from env or file', async () => {
  const t = tmp();
  try {
    const key = generateSealKey();
    await writeFile(t.path('token.jwe'), `${await sealSecretFile(SECRET, key)}\n`);
    await writeFile(t.path('key'), `${key}\n`);
    assert.equal(await one({ ref: 'j', source: 'jwe-file', path: t.path('token.jwe'), key: { env: 'SEAL_KEY' } }, { SEAL_KEY: key }).read(), SECRET);
    assert.equal(await one({ ref: 'j', source: 'jwe-file', path: t.path('token.jwe'), key: { path: t.path('key') } }).read(), SECRET);
    // The raw file never contains the value.
    assert.equal((await import('node:fs')).readFileSync(t.path('token.jwe'), 'utf8').includes(SECRET), false);
  } finally {
    t.cleanup();
  }
});

test('backend jwe-file - ECDH-ES with a private JWK; a re-sealed file is picked up', async () => {
  const t = tmp();
  try {
    const { publicJwk, privateJwk } = await generateSealKeyPair();
    await writeFile(t.path('token.jwe'), await sealSecretFile(SECRET, publicJwk));
    await writeFile(t.path('key.json'), JSON.stringify(privateJwk));
    const b = one({ ref: 'j', source: 'jwe-file', path: t.path('token.jwe'), key: { path: t.path('key.json') } });
    assert.equal(await b.read(), SECRET);
    await writeFile(t.path('token.jwe.new'), await sealSecretFile('rotated-value', publicJwk));
    await rename(t.path('token.jwe.new'), t.path('token.jwe'));
    assert.equal(await b.read(), 'rotated-value');
    b.close();
  } finally {
    t.cleanup();
  }
});

test('backend jwe-file - wrong key, bad key, tampered file and missing key are unavailable without leaking', async () => {
  const t = tmp();
  try {
    const key = generateSealKey();
    const jwe = await sealSecretFile(SECRET, key);
    await writeFile(t.path('token.jwe'), jwe);
    const cfg = { ref: 'j', source: 'jwe-file' as const, path: t.path('token.jwe'), key: { env: 'K' } };
    await refused(one(cfg, { K: generateSealKey() }).read(), [SECRET, key]);
    await refused(one(cfg, { K: 'not-a-key' }).read(), [SECRET, 'not-a-key']);
    await refused(one(cfg, {}).read(), [SECRET]);
    const parts = jwe.split('.');
    // Change the first ciphertext character for certain (writing a fixed 'A' left it as it was when it already was one).
    const c = parts[3] ?? '';
    parts[3] = `${c.startsWith('A') ? 'B' : 'A'}${c.slice(1)}`;
    await writeFile(t.path('token.jwe'), parts.join('.'));
    await refused(one(cfg, { K: key }).read(), [SECRET, key]);
  } finally {
    t.cleanup();
  }
});

test('seal - refuses an empty value, a short key and a private JWK', async () => {
  await assert.rejects(sealSecretFile('', generateSealKey()), { code: 'ERR_SECRET_CONFIG' });
  await assert.rejects(sealSecretFile('x', 'c2hvcnQ'), { code: 'ERR_SECRET_CONFIG' });
  const { privateJwk } = await generateSealKeyPair();
  await assert.rejects(sealSecretFile('x', privateJwk), { code: 'ERR_SECRET_CONFIG' });
});
