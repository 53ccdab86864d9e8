import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Config } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { githubClaims } from '@agentgate/testkit';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { call, pendingId, wait } from './approvals-harness.js';
import { clientHome, type GitHarness, git, gitEvents, startGitHarness, upstreamRefs } from './git-harness.js';

/** A force-push to main is held for release managers (acme/ops pipelines); held bodies are capped at 64 KiB, packs are not. */
export const GIT_APPROVALS = {
  gitOptions: 'progressIntervalMs: 300',
  groups: '    - { name: release-managers, when: { repository: acme/ops } }\n',
  rules: `    - { name: force-review, actions: [git.force_push], when: "attrs.ref == 'refs/heads/main'", decision: review, reason: rewriting main needs a release manager }\n`,
  extra: 'approvals:\n  timeoutMs: 20000\n  approverGroups: [release-managers]\n  maxBodyBytes: 65536\n',
};

interface RefChangeView {
  ref: string;
  old: string;
  new: string;
  kind: string;
  added: Array<{ sha: string; subject: string; author: string }>;
  lost: Array<{ sha: string; subject: string; author: string }>;
  diffstat?: { files: Array<{ path: string; added: number | null; deleted: number | null }>; filesChanged: number; insertions: number; deletions: number };
}
interface ApprovalView {
  id: string;
  status: string;
  rule: string;
  binding: { kind: string; body: { sha256: string; bytes: number } | null; parts: Array<{ kind: string; attributes: Record<string, unknown> }> };
  details?: { git?: { repo: string; refs: RefChangeView[] } };
}

describe('approvals: held git pushes with the real git CLI', () => {
  let h: GitHarness;
  let env: NodeJS.ProcessEnv;
  let approver: string;
  const extras: ProxyHandle[] = [];
  before(async () => {
    h = await startGitHarness(GIT_APPROVALS);
    env = clientHome(h, 'agent', h.token).env;
    approver = await h.issuer.mint(githubClaims({ repository: 'acme/ops', run_id: '7100000001', actor: 'release-manager', actor_id: '710001' }));
  });
  after(async () => {
    for (const p of extras) await p.close();
    await h?.close();
  });

  async function ok(r: Promise<{ code: number; stdout: string; stderr: string }>, what: string): Promise<string> {
    const res = await r;
    assert.equal(res.code, 0, `${what} failed: ${quiet(res.stderr).slice(-2000)}`);
    return res.stdout;
  }
  /** stderr without the curl trace lines. */
  const quiet = (stderr: string): string =>
    stderr
      .split('\n')
      .filter((l) => !/^(=>|<=|==|\d\d:\d\d:\d\d\.\d+ )/.test(l) && !/^(Send|Recv|Info)/.test(l))
      .join('\n');
  async function commit(cwd: string, file: string, text: string | Buffer, message: string): Promise<string> {
    writeFileSync(join(cwd, file), text);
    await ok(git(h, env, ['add', file], cwd), 'add');
    await ok(git(h, env, ['commit', '-q', '-m', message], cwd), 'commit');
    return (await ok(git(h, env, ['rev-parse', 'HEAD'], cwd), 'rev-parse')).trim();
  }
  /** A clone whose main was rewritten: `dropped` is the upstream tip the force-push would remove, `tip` its replacement. */
  async function rewritten(repo: string, base = h.proxy.url): Promise<{ dir: string; dropped: string; tip: string; url: string }> {
    await h.git.createRepo(repo, { withCommits: 2 });
    const url = `${base}/gh/${repo}.git`;
    const dir = join(h.dir, `${repo}-clone`);
    await ok(git(h, env, ['clone', '-q', url, dir]), 'clone');
    const dropped = (await ok(git(h, env, ['rev-parse', 'HEAD'], dir), 'rev-parse')).trim();
    await ok(git(h, env, ['reset', '-q', '--hard', 'HEAD~1'], dir), 'reset');
    // Random bytes: the pack is larger than approvals.maxBodyBytes, which binds only bodies the hold reads itself.
    await commit(dir, 'blob.bin', randomBytes(200 * 1024), 'add a generated blob');
    const tip = await commit(dir, 'NOTES.md', 'rewritten\n', 'rewrite the history of main');
    return { dir, dropped, tip, url };
  }
  async function phases(id: string, until: string): Promise<string[]> {
    const evs = await gitEvents(h, (e) => e.agentgate.action.id === id, until);
    return evs.map((e) => e.agentgate.action.phase);
  }

  test('approvals - a force-push is held with its commits and the commits it drops, then lands exactly as approved', async () => {
    const { dir, dropped, tip } = await rewritten('held-ok');
    const before = await upstreamRefs(h, 'held-ok');
    const push = git(h, env, ['push', '--force', 'origin', 'main'], dir);
    const id = await pendingId(h.proxy.url, approver, 20_000);
    await wait(700);
    assert.equal((await upstreamRefs(h, 'held-ok')).get('refs/heads/main'), before.get('refs/heads/main'), 'nothing lands while held');

    const shown = await call(h.proxy.url, 'GET', `/_agentgate/approvals/${id}`, approver);
    assert.equal(shown.status, 200, shown.text);
    const rec = shown.json.approval as ApprovalView;
    assert.equal(rec.rule, 'force-review');
    assert.equal(rec.binding.kind, 'git.force_push');
    assert.deepEqual(
      rec.binding.parts.map((p) => [p.attributes.ref, p.attributes.old, p.attributes.new]),
      [['refs/heads/main', dropped, tip]],
      'the binding names the exact ref update',
    );
    assert.ok(rec.binding.body && rec.binding.body.bytes > 65536, 'a pack larger than approvals.maxBodyBytes is bound by the adapter digest');
    assert.match(rec.binding.body.sha256, /^[0-9a-f]{64}$/);
    const change = rec.details?.git?.refs[0];
    assert.equal(change?.kind, 'force-push');
    assert.deepEqual(
      change?.added.map((c) => c.subject),
      ['rewrite the history of main', 'add a generated blob'],
    );
    assert.equal(change?.added[0]?.sha, tip);
    assert.match(change?.added[0]?.author ?? '', /ci bot <ci@acme\.invalid>/);
    assert.deepEqual(
      change?.lost.map((c) => c.sha),
      [dropped],
      'the commit the force-push drops from main',
    );
    assert.ok(change?.diffstat && change.diffstat.filesChanged >= 2);
    assert.ok(
      change?.diffstat?.files.some((f) => f.path === 'blob.bin' && f.added === null),
      'a binary file has no line counts',
    );
    assert.ok(change?.diffstat?.files.some((f) => f.path === 'NOTES.md'));

    const ok1 = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, approver, { reason: 'release cut' });
    assert.equal(ok1.status, 200, ok1.text);
    const res = await push;
    assert.equal(res.code, 0, quiet(res.stderr));
    assert.match(res.stderr, new RegExp(`remote: agentgate: held for approval by release-managers: ${id} /_agentgate/approvals/${id}`));
    assert.equal((await upstreamRefs(h, 'held-ok')).get('refs/heads/main'), tip, 'the approved update landed');
    assert.deepEqual(await phases(id, 'completed'), ['held', 'approved', 'requested', 'completed']);
    const approved = (await gitEvents(h, (e) => e.agentgate.action.id === id)).find((e) => e.agentgate.action.phase === 'approved');
    assert.match(String(approved?.agentgate.approval?.approver?.subject), /acme\/ops/);
    assert.equal(approved?.agentgate.approval?.body_sha256, rec.binding.body.sha256);

    // Another rewrite (other SHAs) is another action: it needs its own approval.
    await ok(git(h, env, ['reset', '-q', '--hard', 'HEAD~1'], dir), 'reset');
    const tip2 = await commit(dir, 'NOTES.md', 'rewritten again\n', 'rewrite main once more');
    const again = git(h, env, ['push', '--force', 'origin', 'main'], dir);
    const id2 = await pendingId(h.proxy.url, approver, 20_000);
    assert.notEqual(id2, id);
    const rec2 = (await call(h.proxy.url, 'GET', `/_agentgate/approvals/${id2}`, approver)).json.approval as ApprovalView;
    assert.deepEqual(
      rec2.binding.parts.map((p) => p.attributes.new),
      [tip2],
    );
    await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id2}/reject`, approver, { reason: 'one rewrite is enough' });
    const r2 = await again;
    assert.notEqual(r2.code, 0);
    assert.equal((await upstreamRefs(h, 'held-ok')).get('refs/heads/main'), tip);
  });

  test('approvals - a rejected push fails with the approver and reason on every ref, and nothing lands', async () => {
    const { dir } = await rewritten('held-no');
    const before = await upstreamRefs(h, 'held-no');
    const push = git(h, env, ['push', '--force', 'origin', 'main'], dir);
    const id = await pendingId(h.proxy.url, approver, 20_000);
    const r = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/reject`, approver, { reason: 'not before the release' });
    assert.equal(r.status, 200, r.text);
    const res = await push;
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /! \[remote rejected\] main -> main \(rejected by [^)]*acme\/ops[^)]*: not before the release\)/);
    assert.deepEqual(await upstreamRefs(h, 'held-no'), before);
    assert.deepEqual(await phases(id, 'rejected'), ['held', 'rejected']);
  });

  test('approvals - an expired hold fails the push as timed out', async () => {
    const config = { ...h.config, approvals: { ...h.config.approvals, timeoutMs: 1500 } } as Config;
    const short = await startProxy(h.bus, config, createLogger({ name: 'proxy-short', level: 'warn', destination: { write: () => {} } }), {
      host: '127.0.0.1',
      port: 0,
    });
    extras.push(short);
    const { dir } = await rewritten('held-late', short.url);
    const before = await upstreamRefs(h, 'held-late');
    const res = await git(h, env, ['push', '--progress', '--force', 'origin', 'main'], dir);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /! \[remote rejected\] main -> main \(approval timed out\)/);
    assert.match(res.stderr, /remote: agentgate: waiting for approval/, 'the client saw progress while it waited');
    assert.deepEqual(await upstreamRefs(h, 'held-late'), before);
  });
});
