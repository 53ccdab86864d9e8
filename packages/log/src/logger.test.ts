import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childFor, createLogger, safeUrl } from './index.js';

// Built at run time: the repository itself holds no token-shaped string.
const SECRET = ['ghp', '0123456789abcdefghijklmnopqrstuvwxyzAB'].join('_');

function memory(): { write(s: string): void; lines(): Array<Record<string, unknown>>; text(): string } {
  const chunks: string[] = [];
  return {
    write: (s: string) => {
      chunks.push(s);
    },
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    text: () => chunks.join(''),
  };
}

test('log - authorization header, cookie and token fields never appear; ids do', () => {
  const dest = memory();
  const log = childFor(createLogger({ name: 'proxy', level: 'info', destination: dest }), {
    requestId: 'req-1',
    sessionId: 'sess-1',
    actionId: 'act-1',
    msgId: 'msg-1',
  });
  log.info(
    {
      req: {
        method: 'POST',
        url: `/git/gh/app.git/info/refs?service=git-upload-pack&access_token=${SECRET}`,
        id: 'req-1',
        headers: { authorization: `Bearer ${SECRET}`, cookie: `session=${SECRET}` },
      },
      headers: { Authorization: `Basic ${SECRET}`, 'content-type': 'application/json', 'set-cookie': SECRET, 'x-api-key': SECRET },
      token: SECRET,
      upstream: { password: SECRET, options: { auth: { secret: SECRET, deeper: { token: SECRET } } } },
      response: { cookie: SECRET, 'proxy-authorization': SECRET },
    },
    'forwarded',
  );
  const text = dest.text();
  assert.equal(text.includes(SECRET), false, text);
  assert.equal(text.toLowerCase().includes('bearer'), false);
  const [line] = dest.lines();
  assert.ok(line);
  assert.equal(line['requestId'], 'req-1');
  assert.equal(line['sessionId'], 'sess-1');
  assert.equal(line['actionId'], 'act-1');
  assert.equal(line['msgId'], 'msg-1');
  assert.equal(line['name'], 'proxy');
  assert.equal(line['level'], 'info');
  assert.equal(line['msg'], 'forwarded');
  assert.deepEqual(line['req'], { method: 'POST', url: '/git/gh/app.git/info/refs?service=git-upload-pack', id: 'req-1' });
  assert.deepEqual(line['headers'], { 'content-type': 'application/json' });
  assert.equal(line['token'], '[REDACTED]');
  assert.equal((line['upstream'] as Record<string, unknown>)['password'], '[REDACTED]');
});

test('log - redaction reaches five levels deep and header-style names', () => {
  const dest = memory();
  const log = createLogger({ name: 't', destination: dest });
  log.warn({ a: { b: { c: { d: { e: { secret: SECRET, 'set-cookie': SECRET, Authorization: SECRET } } } } } });
  assert.equal(dest.text().includes(SECRET), false, dest.text());
  assert.match(dest.text(), /"secret":"\[REDACTED\]"/);
});

test('log - url serializer drops user-info, host and token-like query parameters', () => {
  assert.equal(safeUrl(`https://x-access-token:${SECRET}@github.com/o/r.git?ref=main&sig=abc`), '/o/r.git?ref=main');
  assert.equal(safeUrl('/v1/chat?api_key=1&code=2&id_token=3&page=2'), '/v1/chat?page=2');
  assert.equal(safeUrl('/plain'), '/plain');
  assert.equal(safeUrl(42), undefined);
});

test('log - error objects are serialized with type and message; level filters', () => {
  const dest = memory();
  const log = createLogger({ name: 't', level: 'warn', destination: dest });
  log.info('hidden');
  log.error({ err: Object.assign(new Error('upstream refused'), { code: 'ERR_UPSTREAM' }) }, 'failed');
  const lines = dest.lines();
  assert.equal(lines.length, 1);
  const err = lines[0]!['err'] as Record<string, unknown>;
  assert.equal(err['message'], 'upstream refused');
  assert.equal(err['code'], 'ERR_UPSTREAM');
  assert.equal(err['type'], 'Error');
});

test('log - childFor leaves out unset ids; time is ISO', () => {
  const dest = memory();
  childFor(createLogger({ name: 't', destination: dest }), { requestId: 'r', sessionId: undefined }).info('x');
  const [line] = dest.lines();
  assert.equal(line!['requestId'], 'r');
  assert.equal('sessionId' in line!, false);
  assert.match(String(line!['time']), /^\d{4}-\d{2}-\d{2}T/);
});

test('log - auto format: a terminal gets pino-pretty lines, still redacted', () => {
  const dest = Object.assign(memory(), { isTTY: true });
  const log = createLogger({ name: 'proxy', level: 'info', destination: dest, format: 'auto' });
  log.info({ requestId: 'req-9', headers: { authorization: `Bearer ${SECRET}` } }, 'proxy listening');
  assert.match(dest.text(), /\u001b\[/, 'coloured for a terminal');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are stripped to read the text
  const text = dest.text().replace(/\u001b\[\d+m/g, '');
  assert.match(text, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(proxy\): proxy listening$/m);
  assert.match(text, /requestId: "req-9"/);
  assert.doesNotMatch(text, /^\{/, 'not a JSON line');
  assert.ok(!text.includes(SECRET));
});

test('log - auto format: anything but a terminal gets JSON lines', () => {
  const dest = memory();
  createLogger({ name: 'proxy', level: 'info', destination: dest, format: 'auto' }).info({ requestId: 'req-9' }, 'proxy listening');
  const [line] = dest.lines();
  assert.equal(line?.['msg'], 'proxy listening');
  assert.equal(line?.['name'], 'proxy');
});

test('log - an explicit format wins over the terminal check', () => {
  const tty = Object.assign(memory(), { isTTY: true });
  createLogger({ name: 'proxy', destination: tty, format: 'json' }).info({}, 'json on a terminal');
  assert.equal(tty.lines()[0]?.['msg'], 'json on a terminal');
  const file = memory();
  createLogger({ name: 'proxy', destination: file, format: 'pretty' }).info({}, 'pretty in a file');
  assert.match(file.text(), /INFO.*\(proxy\): pretty in a file/);
  assert.doesNotMatch(file.text(), /\u001b\[/, 'no colours where nobody reads a terminal');
});
