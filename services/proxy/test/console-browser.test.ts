import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Config } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { wait } from './approvals-harness.js';
import { type ConsoleHarness, startConsoleHarness } from './console-harness.js';
import { clientHome, git, upstreamRefs } from './git-harness.js';

const CHROMIUM = '/usr/bin/chromium';
/** Screenshots of the three pages land here (git-ignored); docs/images/ keeps one of each for the README. */
const OUT = join(new URL('../../..', import.meta.url).pathname, 'test-output', 'console');

describe('console: a real browser against the gateway, logins at a real oidc-provider', () => {
  let h: ConsoleHarness;
  let browser: Browser;
  let env: NodeJS.ProcessEnv;
  const extras: ProxyHandle[] = [];
  before(async () => {
    // A missing browser fails loudly: .ci/install-browser.sh installs Debian's chromium.
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run .ci/install-browser.sh`);
    mkdirSync(OUT, { recursive: true });
    h = await startConsoleHarness();
    env = clientHome(h, 'agent', h.token).env;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    for (const p of extras) await p.close();
    await h?.close();
  });

  async function ok(r: Promise<{ code: number; stdout: string; stderr: string }>, what: string): Promise<string> {
    const res = await r;
    assert.equal(res.code, 0, `${what} failed: ${res.stderr.slice(-1500)}`);
    return res.stdout;
  }
  /** A clone of a fresh repository whose main was rewritten; `dropped` is the commit a force-push removes. */
  async function rewritten(repo: string, base = h.proxy.url): Promise<{ dir: string; dropped: string; tip: string }> {
    await h.git.createRepo(repo, { withCommits: 2 });
    const dir = join(h.dir, `${repo}-clone`);
    await ok(git(h, env, ['clone', '-q', `${base}/gh/${repo}.git`, dir]), 'clone');
    const dropped = (await ok(git(h, env, ['rev-parse', 'HEAD'], dir), 'rev-parse')).trim();
    await ok(git(h, env, ['reset', '-q', '--hard', 'HEAD~1'], dir), 'reset');
    writeFileSync(join(dir, 'CHANGELOG.md'), '# 1.2\n- rewritten\n');
    await ok(git(h, env, ['add', 'CHANGELOG.md'], dir), 'add');
    await ok(git(h, env, ['commit', '-q', '-m', 'docs: changelog for release 1.2'], dir), 'commit');
    const tip = (await ok(git(h, env, ['rev-parse', 'HEAD'], dir), 'rev-parse')).trim();
    return { dir, dropped, tip };
  }

  /** Signs `login` in through the IdP's own login (and consent) page; returns the page, on the console. */
  async function signIn(login: string, path = '/'): Promise<{ ctx: BrowserContext; page: Page }> {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${h.consoleUrl}${path}`);
    assert.ok(page.url().startsWith(h.idp.issuer), `sent to the IdP to log in, got ${page.url()}`);
    await page.fill('input[name=login]', login);
    await page.fill('input[name=password]', 'any password');
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    if (page.url().startsWith(h.idp.issuer)) await page.click('button[type=submit]'); // consent
    await page.waitForURL((u) => u.href.startsWith(h.consoleUrl) && !u.pathname.endsWith('/callback'));
    const cookies = await ctx.cookies();
    const session = cookies.find((c) => c.name === 'agentgate_console');
    assert.ok(session?.httpOnly && session.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict');
    return { ctx, page };
  }

  async function heldId(page: Page): Promise<string> {
    const link = page.locator('#pending tbody a').first();
    await link.waitFor({ timeout: 20_000 });
    const href = (await link.getAttribute('href')) ?? '';
    return decodeURIComponent(href.split('/').at(-1) ?? '');
  }

  test('console - a held force-push is approved in the browser: the approver sees the lost commits, the push lands, the trail names the approver', async () => {
    const { ctx, page } = await signIn('rita');
    const res = await page.goto(`${h.consoleUrl}/`);
    const headers = res?.headers() ?? {};
    assert.match(headers['content-security-policy'] ?? '', /script-src 'self'/);
    assert.match(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/);
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['cache-control'], 'no-store');
    await page.locator('#pending-status', { hasText: 'Nothing is waiting' }).waitFor();

    const { dir, dropped, tip } = await rewritten('console-ok');
    const before = await upstreamRefs(h, 'console-ok');
    const push = git(h, env, ['push', '--force', 'origin', 'main'], dir);
    // Live: the held push appears on the open page without a reload.
    const id = await heldId(page);
    assert.match(await page.locator('#pending tbody').innerText(), /git\.force_push[\s\S]*1 commit\(s\) dropped/);
    await page.screenshot({ path: join(OUT, 'pending.png'), fullPage: true });

    await page.click('#pending tbody a');
    await page.waitForURL(`**/approvals/${id}`);
    const lost = await page.locator('ul.lost').innerText();
    assert.match(lost, new RegExp(dropped.slice(0, 12)), 'the commit the force-push would drop is shown');
    assert.match(await page.locator('ul.added').innerText(), /docs: changelog for release 1\.2/);
    assert.match(await page.locator('main').innerText(), /CHANGELOG\.md/, 'the diffstat names the changed file');
    assert.match(await page.locator('main').innerText(), /rewriting main needs a release manager/);
    await page.screenshot({ path: join(OUT, 'approval.png'), fullPage: true });
    assert.equal((await upstreamRefs(h, 'console-ok')).get('refs/heads/main'), before.get('refs/heads/main'), 'nothing landed while held');

    await page.fill('#reason', 'release 1.2 rewrite agreed');
    await page.click('button.approve');
    await page.locator('h1 .badge', { hasText: 'approved' }).waitFor();
    const out = await push;
    assert.equal(out.code, 0, out.stderr.slice(-1500));
    assert.match(out.stderr, new RegExp(`remote: agentgate: held for approval by release-managers: ${id} ${h.consoleUrl}/approvals/${id}`));
    assert.equal((await upstreamRefs(h, 'console-ok')).get('refs/heads/main'), tip, 'the approved push landed');

    // The session timeline (from the local audit store) shows who approved.
    await page.click('a[href*="/session?id="]');
    let text = '';
    for (let i = 0; i < 100 && !/approved by rita/.test(text); i++) {
      await wait(100);
      await page.reload();
      text = await page.locator('ol.timeline').innerText();
    }
    assert.match(text, /git\.force_push[\s\S]*held for approval \(rule force-review\), approved by rita \(release 1\.2 rewrite agreed\) → completed 200/);
    await page.screenshot({ path: join(OUT, 'timeline.png'), fullPage: true });

    // Search by rule and decision finds the approval.
    await page.goto(`${h.consoleUrl}/search?rule=force-review&decision=approved`);
    assert.match(await page.locator('main table').innerText(), /git\.force_push[\s\S]*approved/);
    await ctx.close();
  });

  test('console - a rejection in the browser fails the push with the approver and reason', async () => {
    const { ctx, page } = await signIn('rita');
    const { dir } = await rewritten('console-no');
    const before = await upstreamRefs(h, 'console-no');
    const push = git(h, env, ['push', '--force', 'origin', 'main'], dir);
    await page.reload();
    const id = await heldId(page);
    await page.goto(`${h.consoleUrl}/approvals/${id}`);
    await page.fill('#reason', 'not during the freeze');
    await page.click('button.reject');
    await page.locator('h1 .badge', { hasText: 'rejected' }).waitFor();
    const out = await push;
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /! \[remote rejected\] main -> main \(rejected by rita: not during the freeze\)/);
    assert.deepEqual(await upstreamRefs(h, 'console-no'), before);
    await ctx.close();
  });

  test('console - an expired hold shows as expired with nothing to decide', async () => {
    const config = { ...h.config, approvals: { ...h.config.approvals, timeoutMs: 1500 } } as Config;
    const short = await startProxy(h.bus, config, createLogger({ name: 'short', level: 'warn', destination: { write: () => {} } }), {
      host: '127.0.0.1',
      port: 0,
    });
    extras.push(short);
    const { dir } = await rewritten('console-late', short.url);
    const out = await git(h, env, ['push', '--force', 'origin', 'main'], dir);
    assert.match(out.stderr, /\(approval timed out\)/);
    const id = /remote: agentgate: held for approval by release-managers: ([A-Za-z0-9_-]+) /.exec(out.stderr)?.[1];
    assert.ok(id);
    const { ctx, page } = await signIn('rita', `/approvals/${id}`);
    assert.match(await page.locator('h1').innerText(), /expired/);
    assert.equal(await page.locator('button.approve').count(), 0);
    await ctx.close();
  });

  test('console - a non-approver sees nothing to decide; the requester cannot approve their own run; CSRF without the token is refused', async () => {
    const { dir } = await rewritten('console-4eyes');
    const push = git(h, env, ['push', '--force', 'origin', 'main'], dir);
    const rita = await signIn('rita');
    const id = await heldId(rita.page);

    const nora = await signIn('nora');
    assert.match(await nora.page.locator('h1').innerText(), /Nothing to decide/);
    assert.equal(await nora.page.locator('#pending').count(), 0);
    const noraView = await nora.page.goto(`${h.consoleUrl}/approvals/${id}`);
    assert.equal(noraView?.status(), 403);
    assert.equal(await nora.page.locator('button.approve').count(), 0);

    // octocat started the agent's run (the CI token's actor): the same human may not approve it.
    const octo = await signIn('octocat', `/approvals/${id}`);
    assert.equal(await octo.page.locator('button.approve').count(), 0);
    assert.match(await octo.page.locator('main').innerText(), /may not decide on their own actions/);
    const octoCsrf = (await octo.page.locator('input[name=_csrf]').first().getAttribute('value')) ?? '';
    const forged = await octo.page.request.post(`${h.consoleUrl}/approvals/${id}/decide`, {
      form: { _csrf: octoCsrf, decision: 'approve' },
      headers: { origin: new URL(h.consoleUrl).origin },
    });
    assert.equal(forged.status(), 403);
    assert.match(await forged.text(), /ERR_SELF_APPROVAL/);

    // Rita's session without the token, with a wrong one, or from another origin: refused, nothing decided.
    const noToken = await rita.page.request.post(`${h.consoleUrl}/approvals/${id}/decide`, {
      form: { decision: 'approve' },
      headers: { origin: new URL(h.consoleUrl).origin },
    });
    assert.equal(noToken.status(), 403);
    assert.match(await noToken.text(), /CSRF/);
    const ritaCsrf = (await rita.page.locator('input[name=_csrf]').first().getAttribute('value')) ?? '';
    const wrong = await rita.page.request.post(`${h.consoleUrl}/approvals/${id}/decide`, {
      form: { _csrf: octoCsrf, decision: 'approve' },
      headers: { origin: new URL(h.consoleUrl).origin },
    });
    assert.equal(wrong.status(), 403, "another session's token is no good");
    const foreign = await rita.page.request.post(`${h.consoleUrl}/approvals/${id}/decide`, {
      form: { _csrf: ritaCsrf, decision: 'approve' },
      headers: { origin: 'http://evil.example' },
    });
    assert.equal(foreign.status(), 403);
    await rita.page.goto(`${h.consoleUrl}/approvals/${id}`);
    assert.match(await rita.page.locator('h1').innerText(), /pending/, 'still pending after every refused attempt');
    await rita.page.fill('#reason', 'cleanup');
    await rita.page.click('button.reject');
    await rita.page.locator('h1 .badge', { hasText: 'rejected' }).waitFor();
    assert.notEqual((await push).code, 0);
    for (const c of [rita.ctx, nora.ctx, octo.ctx]) await c.close();
  });
});
