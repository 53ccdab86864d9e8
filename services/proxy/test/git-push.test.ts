import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { validateEvent } from '@agentgate/events';
import { assertNoSecret, auditEvents } from './harness.js';
import { clientHome, type GitHarness, git, gitEvents, startGitHarness, upstreamRefs, watchCommandLines } from './git-harness.js';

describe('git adapter: real git CLI through the gateway to git http-backend', () => {
  let h: GitHarness;
  let env: NodeJS.ProcessEnv;
  let releaseEnv: NodeJS.ProcessEnv;
  let cmdlines: ReturnType<typeof watchCommandLines>;
  before(async () => {
    h = await startGitHarness();
    cmdlines = watchCommandLines(h.secret);
    env = clientHome(h, 'app', h.token).env;
    releaseEnv = clientHome(h, 'release', h.releaseToken).env;
  });
  after(async () => {
    await h?.close();
  });

  async function ok(r: Promise<{ code: number; stdout: string; stderr: string }>, what: string): Promise<string> {
    const res = await r;
    assert.equal(
      res.code,
      0,
      `${what} failed: ${res.stderr
        .split('\n')
        .filter((l) => !/^(=>|<=|==)/.test(l) && !/^\d\d:\d\d/.test(l))
        .join('\n')
        .slice(-2000)}`,
    );
    return res.stdout;
  }
  async function commit(cwd: string, file: string, text: string, message: string): Promise<string> {
    writeFileSync(join(cwd, file), text);
    await ok(git(h, env, ['add', file], cwd), 'add');
    await ok(git(h, env, ['commit', '-q', '-m', message], cwd), 'commit');
    return (await ok(git(h, env, ['rev-parse', 'HEAD'], cwd), 'rev-parse')).trim();
  }
  async function clone(repo: string, name: string, e = env): Promise<string> {
    const dir = join(h.dir, name);
    await ok(git(h, e, ['clone', '-q', h.gatewayUrl(repo), dir]), `clone ${repo}`);
    return dir;
  }

  test('git - clone and fetch work (protocol v2 and v0), the upstream only ever sees the brokered credential', async () => {
    const repo = await h.git.createRepo('fetchme', { withCommits: 3 });
    const dir = await clone('fetchme', 'fetch-v2');
    assert.match(await ok(git(h, env, ['log', '--oneline'], dir), 'log'), /commit 3/);
    const v0 = join(h.dir, 'fetch-v0');
    await ok(git(h, env, ['-c', 'protocol.version=0', 'clone', '-q', h.gatewayUrl('fetchme'), v0]), 'clone v0');
    // A new upstream commit arrives by fetch, both protocol versions.
    const side = await clone('fetchme', 'fetch-writer');
    const tip = await commit(side, 'new.txt', 'new\n', 'upstream moves');
    await ok(git(h, env, ['push', '-q', 'origin', 'main'], side), 'push');
    await ok(git(h, env, ['fetch', '-q', 'origin'], dir), 'fetch v2');
    await ok(git(h, env, ['-c', 'protocol.version=0', 'fetch', '-q', 'origin'], v0), 'fetch v0');
    assert.equal((await ok(git(h, env, ['rev-parse', 'origin/main'], dir), 'rev-parse')).trim(), tip);
    assert.equal((await ok(git(h, env, ['rev-parse', 'origin/main'], v0), 'rev-parse')).trim(), tip);
    const seen = h.git.requests.filter((r) => r.path.startsWith('/fetchme.git'));
    assert.ok(seen.length > 0 && seen.every((r) => r.authorized), 'every upstream request carried the brokered credential');
    assert.ok(seen.some((r) => r.path.includes('git-upload-pack') && r.method === 'POST'));
    const events = await gitEvents(h, (e) => e.url?.path?.startsWith('/gh/fetchme.git') === true);
    assert.ok(events.some((e) => e.event.action === 'git.fetch' && e.agentgate.action.attributes?.protocol === 2));
    assert.ok(events.some((e) => e.event.action === 'git.fetch' && e.agentgate.action.attributes?.protocol === 0));
    assert.ok(repo.path);
  });

  test('git - a fast-forward push, a new branch and a new tag pass, each recorded with its ref update', async () => {
    await h.git.createRepo('pushme', { withCommits: 1 });
    const dir = await clone('pushme', 'push-1');
    const old = (await ok(git(h, env, ['rev-parse', 'HEAD'], dir), 'rev-parse')).trim();
    const c1 = await commit(dir, 'a.txt', 'a\n', 'a');
    const c2 = await commit(dir, 'b.txt', 'b\n', 'b');
    await ok(git(h, env, ['push', '-q', 'origin', 'main'], dir), 'ff push');
    await ok(git(h, env, ['push', '-q', 'origin', 'main:refs/heads/feature/x'], dir), 'new branch');
    await ok(git(h, env, ['tag', '-a', '-m', 'v1', 'v1.0.0'], dir), 'tag');
    await ok(git(h, env, ['push', '-q', 'origin', 'v1.0.0'], dir), 'new tag');
    const refs = await upstreamRefs(h, 'pushme');
    assert.equal(refs.get('refs/heads/main'), c2);
    assert.equal(refs.get('refs/heads/feature/x'), c2);
    assert.ok(refs.get('refs/tags/v1.0.0'));
    assert.notEqual(c1, c2);

    const events = await gitEvents(h, (e) => e.url?.path === '/gh/pushme.git/git-receive-pack', 'completed');
    const ff = events.find((e) => e.agentgate.action.phase === 'requested' && e.event.action === 'git.push');
    assert.ok(ff, 'the fast-forward was recorded as git.push');
    validateEvent(ff);
    assert.deepEqual(ff.agentgate.git?.refs, [{ ref: 'refs/heads/main', old, new: c2, kind: 'fast-forward', decision: 'allow' }]);
    assert.equal(ff.agentgate.git?.commits, 2);
    assert.ok((ff.agentgate.git?.bytes ?? 0) > 100);
    assert.ok(events.some((e) => e.event.action === 'git.create_ref' && e.agentgate.git?.refs[0]?.kind === 'create' && e.agentgate.git.commits === 0));
    assert.ok(events.some((e) => e.event.action === 'git.tag_create' && e.agentgate.git?.refs[0]?.ref === 'refs/tags/v1.0.0'));
    assert.ok(events.some((e) => e.agentgate.action.phase === 'completed' && e.event.action === 'git.push'));
  });

  test("git - a force-push is denied with the rule in git's own words and the upstream ref is unchanged", async () => {
    await h.git.createRepo('forceme', { withCommits: 2 });
    const dir = await clone('forceme', 'force-1');
    const before = await upstreamRefs(h, 'forceme');
    await ok(git(h, env, ['reset', '-q', '--hard', 'HEAD~1'], dir), 'reset');
    await commit(dir, 'rewrite.txt', 'rewritten\n', 'rewrite history');
    const requestsBefore = h.git.requests.filter((r) => r.path.includes('git-receive-pack') && r.method === 'POST').length;
    const r = await git(h, env, ['push', '--force', 'origin', 'main'], dir);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /! \[remote rejected\] main -> main \(force-push denied by rule no-force-push\)/);
    assert.deepEqual(await upstreamRefs(h, 'forceme'), before);
    // The upstream's receive-pack never ran for it.
    assert.equal(h.git.requests.filter((x) => x.path.includes('git-receive-pack') && x.method === 'POST').length, requestsBefore);
    const denied = (await gitEvents(h, (e) => e.url?.path === '/gh/forceme.git/git-receive-pack')).find((e) => e.agentgate.action.phase === 'denied');
    assert.ok(denied);
    assert.equal(denied.event.action, 'git.force_push');
    assert.equal(denied.rule?.name, 'no-force-push');
    assert.equal(denied.agentgate.git?.refs[0]?.kind, 'force-push');
    assert.equal(denied.agentgate.git?.refs[0]?.decision, 'deny');
  });

  test('git - a rule allowing force-push for a principal lets its force-push through', async () => {
    await h.git.createRepo('releaseme', { withCommits: 2 });
    const dir = await clone('releaseme', 'release-1', releaseEnv);
    await ok(git(h, releaseEnv, ['reset', '-q', '--hard', 'HEAD~1'], dir), 'reset');
    writeFileSync(join(dir, 'r.txt'), 'r\n');
    await ok(git(h, releaseEnv, ['add', 'r.txt'], dir), 'add');
    await ok(git(h, releaseEnv, ['commit', '-q', '-m', 'release rewrite'], dir), 'commit');
    const tip = (await ok(git(h, releaseEnv, ['rev-parse', 'HEAD'], dir), 'rev-parse')).trim();
    await ok(git(h, releaseEnv, ['push', '-q', '--force', 'origin', 'main'], dir), 'force push by release tool');
    assert.equal((await upstreamRefs(h, 'releaseme')).get('refs/heads/main'), tip);
    const ev = (await gitEvents(h, (e) => e.url?.path === '/gh/releaseme.git/git-receive-pack')).find((e) => e.agentgate.action.phase === 'requested');
    assert.equal(ev?.event.action, 'git.force_push');
    assert.equal(ev?.rule?.name, 'release-force');
  });

  test('git - deleting a protected branch and moving a tag are denied; an unprotected branch delete passes', async () => {
    await h.git.createRepo('guarded', { withCommits: 1 });
    const dir = await clone('guarded', 'guarded-1');
    await ok(git(h, env, ['push', '-q', 'origin', 'main:refs/heads/release/1.x', 'main:refs/heads/scratch'], dir), 'branches');
    await ok(git(h, env, ['tag', 'v1'], dir), 'tag');
    await ok(git(h, env, ['push', '-q', 'origin', 'v1'], dir), 'push tag');
    const before = await upstreamRefs(h, 'guarded');

    const del = await git(h, env, ['push', 'origin', ':refs/heads/release/1.x'], dir);
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /! \[remote rejected\] release\/1\.x \(ref deletion denied by rule protect-delete: protected branches cannot be deleted\)/);

    await commit(dir, 'n.txt', 'n\n', 'next');
    await ok(git(h, env, ['tag', '-f', 'v1'], dir), 'move tag');
    const move = await git(h, env, ['push', '--force', 'origin', 'v1'], dir);
    assert.notEqual(move.code, 0);
    assert.match(move.stderr, /! \[remote rejected\] v1 -> v1 \(tag move denied by rule immutable-tags: release tags are immutable\)/);
    assert.deepEqual(await upstreamRefs(h, 'guarded'), before);

    await ok(git(h, env, ['push', '-q', 'origin', ':refs/heads/scratch'], dir), 'delete unprotected branch');
    assert.equal((await upstreamRefs(h, 'guarded')).has('refs/heads/scratch'), false);
  });

  test('git - a merge reaching the old tip only through a branch the upstream already has is a fast-forward', async () => {
    await h.git.createRepo('mergeme', { withCommits: 2 });
    const dir = await clone('mergeme', 'merge-1');
    const oldMain = (await ok(git(h, env, ['rev-parse', 'HEAD'], dir), 'rev-parse')).trim();
    // The upstream gets `side` = old main + one commit.
    await ok(git(h, env, ['checkout', '-q', '-b', 'side'], dir), 'branch');
    await commit(dir, 'side.txt', 'side\n', 'side work');
    await ok(git(h, env, ['push', '-q', 'origin', 'side'], dir), 'push side');
    // A new line of work from before old main, merged with side: reaches old main only via side.
    await ok(git(h, env, ['checkout', '-q', '-b', 'work', 'HEAD~2'], dir), 'branch from before');
    await commit(dir, 'work.txt', 'work\n', 'parallel work');
    await ok(git(h, env, ['merge', '-q', '--no-ff', '-m', 'merge side', 'side'], dir), 'merge');
    const merge = (await ok(git(h, env, ['rev-parse', 'HEAD'], dir), 'rev-parse')).trim();
    await ok(git(h, env, ['push', '-q', 'origin', 'work:main'], dir), 'push merge to main');
    assert.equal((await upstreamRefs(h, 'mergeme')).get('refs/heads/main'), merge);
    const ev = (await gitEvents(h, (e) => e.url?.path === '/gh/mergeme.git/git-receive-pack' && e.agentgate.git?.refs[0]?.ref === 'refs/heads/main')).find(
      (e) => e.agentgate.action.phase === 'requested',
    );
    assert.ok(ev);
    assert.deepEqual(ev.agentgate.git?.refs[0], { ref: 'refs/heads/main', old: oldMain, new: merge, kind: 'fast-forward', decision: 'allow' });
    assert.equal(ev.agentgate.git?.commits, 2, 'the parallel commit and the merge are new; side was already upstream');
  });

  test('git - a push of several refs with one denied is refused whole (all-or-nothing), every ref says why', async () => {
    await h.git.createRepo('atomic', { withCommits: 2 });
    const dir = await clone('atomic', 'atomic-1');
    const before = await upstreamRefs(h, 'atomic');
    await ok(git(h, env, ['checkout', '-q', '-b', 'topic'], dir), 'branch');
    await commit(dir, 't.txt', 't\n', 'topic');
    await ok(git(h, env, ['checkout', '-q', 'main'], dir), 'checkout');
    await ok(git(h, env, ['reset', '-q', '--hard', 'HEAD~1'], dir), 'reset');
    const r = await git(h, env, ['push', '--force', 'origin', 'main', 'topic'], dir);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /! \[remote rejected\] main -> main \(force-push denied by rule no-force-push\)/);
    assert.match(r.stderr, /! \[remote rejected\] topic -> topic \(push refused: another ref in this push was denied \(all-or-nothing\)\)/);
    assert.deepEqual(await upstreamRefs(h, 'atomic'), before);
    const denied = (await gitEvents(h, (e) => e.url?.path === '/gh/atomic.git/git-receive-pack')).find((e) => e.agentgate.action.phase === 'denied');
    assert.deepEqual(
      denied?.agentgate.git?.refs.map((x) => [x.ref, x.kind, x.decision]),
      [
        ['refs/heads/main', 'force-push', 'deny'],
        ['refs/heads/topic', 'create', 'allow'],
      ],
    );
  });

  test('git - concurrent pushes to one repository are classified one mirror fetch at a time and all land', async () => {
    await h.git.createRepo('busy', { withCommits: 1 });
    const dirs = await Promise.all([0, 1, 2].map((i) => clone('busy', `busy-${i}`)));
    const tips = await Promise.all(dirs.map((d, i) => commit(d, `f${i}.txt`, `${i}\n`, `work ${i}`)));
    const runs = await Promise.all(dirs.map((d, i) => git(h, env, ['push', '-q', 'origin', `HEAD:refs/heads/b${i}`], d)));
    assert.deepEqual(
      runs.map((r) => r.code),
      [0, 0, 0],
      runs.map((r) => r.stderr.slice(-300)).join('\n'),
    );
    const refs = await upstreamRefs(h, 'busy');
    assert.deepEqual(
      tips.map((_t, i) => refs.get(`refs/heads/b${i}`)),
      tips,
    );
  });

  test('git - the brokered credential appears in no client trace (GIT_TRACE_CURL), no command line and no audit event', async () => {
    // Each run's trace was scanned as it finished; this checks the scan actually saw traffic.
    assert.ok(h.traces.length > 20);
    assert.ok(
      h.traces.some((t) => t.includes('=> Send header') && t.includes('/gh/')),
      'traces hold the HTTP exchanges',
    );
    const seen = cmdlines.stop();
    assert.ok(seen.scans > 50, 'command lines were sampled');
    assert.ok(seen.sawMirrorFetch, "the sampler caught the gateway's mirror fetch running");
    assert.equal(seen.leaks, 0, 'no process ever had the credential on its command line');
    for (const e of await auditEvents(h.bus)) assertNoSecret(JSON.stringify(e), h.secret, 'audit event');
  });
});
