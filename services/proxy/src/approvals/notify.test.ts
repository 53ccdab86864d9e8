import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '@agentgate/log';
import { HoldNotifier, SIGNATURE_HEADER } from './notify.js';
import type { ApprovalRecord } from './record.js';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const KEY = 'whsec-test-key-0123456789abcdef';

/** What a receiver does: recompute HMAC-SHA256 over "<t>.<raw body>" and compare in constant time. */
function verify(header: string | undefined, body: string, key: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const expected = createHmac('sha256', key).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2] as string, 'hex'));
}

const record: ApprovalRecord = {
  id: '01J000000000000000000000AB',
  status: 'pending',
  requestedAt: '2026-11-30T10:00:00.000Z',
  expiresAt: '2026-11-30T10:05:00.000Z',
  rule: 'force-review',
  reason: 'rewriting main needs a release manager',
  policyVersion: 'a'.repeat(64),
  connection: 'gh',
  principal: {
    issuer: 'https://ci',
    subject: 'repo:acme/app:ref:refs/heads/main',
    groups: ['acme-ci'],
    sessionId: 's-1',
    ci: { provider: 'github-actions', repository: 'acme/app' },
    identity: { actor: 'octocat' },
  },
  binding: { kind: 'git.force_push', connection: 'gh', attributes: {}, body: { sha256: 'b'.repeat(64), bytes: 1234 }, digest: 'c'.repeat(64) },
  preview: null,
  details: {
    git: {
      repo: 'app',
      refs: [
        {
          ref: 'refs/heads/main',
          old: '1'.repeat(40),
          new: '2'.repeat(40),
          kind: 'force-push',
          added: [{ sha: '2'.repeat(40), author: 'ci <ci@x>', date: '2026-11-30T10:00:00Z', subject: 'rewrite <@channel> & more' }],
          addedTruncated: false,
          lost: [{ sha: '1'.repeat(40), author: 'dev <dev@x>', date: '2026-11-29T10:00:00Z', subject: 'the lost one' }],
          lostTruncated: false,
          diffstat: { files: [{ path: 'a.txt', added: 3, deleted: 1 }], filesChanged: 1, insertions: 3, deletions: 1, truncated: false },
        },
      ],
    },
  },
  heldBy: 'gw-1',
};

describe('approvals notify: webhooks against a local receiver', () => {
  let server: Server;
  let base: string;
  const got: Received[] = [];
  /** Status codes to answer on /flaky, in order (then 200). */
  let flaky: number[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        if (req.url === '/flaky') res.statusCode = flaky.shift() ?? 200;
        else if (req.url === '/gone') res.statusCode = 404;
        else if (req.url === '/redirect') {
          res.statusCode = 307;
          res.setHeader('location', `${base}/json`);
        }
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const log = createLogger({ name: 'notify-test', level: 'silent' });
  const secrets = async (ref: string) => (ref === 'hook-key' ? KEY : ref === 'slack-url' ? `${base}/slack` : Promise.reject(new Error('unknown')));
  const link = (id: string) => `https://gw.example/_agentgate/console/approvals/${id}`;

  test('notify - generic JSON carries who, what, the rule, the diff summary and the link, signed over timestamp and body', async () => {
    got.length = 0;
    const n = new HoldNotifier(
      { webhooks: [{ group: 'release-managers', url: `${base}/json`, format: 'json', secretRef: 'hook-key' }], timeoutMs: 2000, attempts: 3, backoffMs: 10 },
      { secrets, link, log },
    );
    n.held(record);
    await n.settle();
    assert.equal(got.length, 1);
    const r = got[0] as Received;
    assert.ok(verify(r.headers[SIGNATURE_HEADER] as string, r.body, KEY), 'the receiver verifies the signature');
    assert.ok(!verify(r.headers[SIGNATURE_HEADER] as string, r.body.replace('acme', 'acne'), KEY), 'a changed body fails verification');
    assert.ok(!verify(r.headers[SIGNATURE_HEADER] as string, r.body, 'another key'));
    assert.equal(r.headers['x-agentgate-timestamp'], /t=(\d+)/.exec(String(r.headers[SIGNATURE_HEADER]))?.[1]);
    const body = JSON.parse(r.body) as { type: string; group: string; link: string; approval: Record<string, unknown> };
    assert.equal(body.type, 'approval.held');
    assert.equal(body.group, 'release-managers');
    assert.equal(body.link, link(record.id));
    assert.equal(body.approval.rule, 'force-review');
    assert.deepEqual(body.approval.requester, { subject: record.principal.subject, sessionId: 's-1', identity: { actor: 'octocat' }, repository: 'acme/app' });
    assert.deepEqual(body.approval.summary, ['force-push refs/heads/main 1111111 → 2222222: 1 commit(s) added, 1 commit(s) dropped; 1 file(s) changed, +3 -1']);
    assert.deepEqual(n.stats(), { delivered: 1, failed: 0, attempts: 1 });
  });

  test('notify - Slack and Mattermost formats escape pushed text; the URL can be a secret', async () => {
    got.length = 0;
    const n = new HoldNotifier(
      {
        webhooks: [
          { group: 'rm', urlRef: 'slack-url', format: 'slack' },
          { group: 'rm', url: `${base}/mm`, format: 'mattermost' },
        ],
        timeoutMs: 2000,
        attempts: 1,
        backoffMs: 10,
      },
      { secrets, link, log },
    );
    n.held(record);
    await n.settle();
    const slack = JSON.parse(got.find((g) => g.path === '/slack')?.body ?? '{}') as { text: string; blocks: Array<{ text: { type: string; text: string } }> };
    assert.match(slack.text, /\*Approval needed:\* git\.force_push on gh/);
    assert.match(slack.text, /rewriting main needs a release manager/);
    assert.match(slack.text, /<https:\/\/gw\.example\/_agentgate\/console\/approvals\/01J000000000000000000000AB\|Decide in the console>$/);
    assert.equal(slack.blocks[0]?.text.type, 'mrkdwn');
    assert.equal(got.find((g) => g.path === '/slack')?.headers[SIGNATURE_HEADER], undefined, 'unsigned without a key');
    const mm = JSON.parse(got.find((g) => g.path === '/mm')?.body ?? '{}') as { text: string };
    assert.match(mm.text, /\[Decide in the console\]\(https:\/\/gw\.example\//);
    assert.doesNotMatch(slack.text + mm.text, /<@channel>/, 'a pushed subject cannot mention a channel');
  });

  test('notify - retried with backoff on 5xx and 429, never on 4xx or a redirect; failures are counted, the caller never waits', async () => {
    got.length = 0;
    flaky = [503, 429];
    const n = new HoldNotifier(
      {
        webhooks: [
          { group: 'a', url: `${base}/flaky`, format: 'json' },
          { group: 'b', url: `${base}/gone`, format: 'json' },
          { group: 'c', url: `${base}/redirect`, format: 'json' },
          { group: 'd', url: 'http://127.0.0.1:1/closed', format: 'json' },
        ],
        timeoutMs: 1000,
        attempts: 3,
        backoffMs: 20,
      },
      { secrets, link, log },
    );
    const t0 = Date.now();
    n.held(record);
    assert.ok(Date.now() - t0 < 50, 'held() returns at once');
    await n.settle();
    const flakyHits = got.filter((g) => g.path === '/flaky');
    assert.equal(flakyHits.length, 3, 'two failures, then delivered');
    assert.equal(new Set(flakyHits.map((g) => g.headers['x-agentgate-delivery'])).size, 1, 'one delivery id across retries');
    assert.equal(got.filter((g) => g.path === '/gone').length, 1, '404 is not retried');
    assert.equal(got.filter((g) => g.path === '/redirect').length, 1, 'a redirect is not followed or retried');
    assert.equal(got.filter((g) => g.path === '/json').length, 0);
    const s = n.stats();
    assert.equal(s.delivered, 1);
    assert.equal(s.failed, 3, 'gone, redirect and the closed port are recorded as failures');
    assert.equal(s.attempts, 3 + 1 + 1 + 3);
  });
});
