import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '@agentgate/config';
import { freePort } from '@agentgate/testkit';
import { type Output, runCli, sampleConfigPath, startGateway } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'agentgate-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function capture(): Output & { text(): string } {
  const lines: string[] = [];
  return { out: (l) => lines.push(l), err: (l) => lines.push(l), text: () => lines.join('\n') };
}

describe('cli', () => {
  it('config check - the shipped sample is valid and exits 0', async () => {
    const io = capture();
    assert.equal(await runCli(['config', 'check', sampleConfigPath()], io), 0);
    assert.match(io.text(), /^ok: /);
  });

  it('config check - a bad key is named and the exit code is 1', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'connections:\n  - name: api\n    type: http\n    upstrem: http://127.0.0.1:1\n');
    const io = capture();
    assert.equal(await runCli(['config', 'check', file], io), 1);
    assert.match(io.text(), /connections\[0\]\.upstrem: unknown key/);
  });

  it('config check - a missing file says so', async () => {
    const io = capture();
    assert.equal(await runCli(['config', 'check', join(dir, 'nope.yaml')], io), 1);
    assert.match(io.text(), /not found/);
  });

  it('usage - an unknown command exits 2 with the usage text', async () => {
    const io = capture();
    assert.equal(await runCli(['frobnicate'], io), 2);
    assert.match(io.text(), /unknown command "frobnicate"/);
  });

  it('start - the one-process gateway answers identity.verify on its in-process bus and stops cleanly', async () => {
    const config = loadConfig({ path: sampleConfigPath(), env: { AGENTGATE_DATA_DIR: join(dir, 'data') } });
    const gw = await startGateway(config, { only: ['identity'] });
    assert.equal(gw.bus.transport, 'inproc');
    await assert.rejects(gw.bus.request('identity.verify', { token: 'not-a-jwt' }), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'ERR_TOKEN_MALFORMED');
      return true;
    });
    await gw.stop();
  });

  /** The sample with `edit` applied to its text, written to a file of its own. */
  function sampleWith(name: string, edit: (text: string) => string): string {
    const text = readFileSync(sampleConfigPath(), 'utf8');
    const edited = edit(text);
    assert.notEqual(edited, text, `the edit of ${name} changed nothing`);
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, edited);
    return file;
  }

  it('config check - a CEL parse error (which start-up refuses) is named with its rule and exits 1', async () => {
    const file = sampleWith('cel', (t) => t.replace("when: attrs.path.startsWith('/repos/')", "when: attrs.path.startsWith('/repos/') &&"));
    const io = capture();
    assert.equal(await runCli(['config', 'check', file], io), 1, io.text());
    assert.match(io.text(), /policy\.rules\[10\]: "github-api-write-review": when: CEL parse error/);
  });

  it('config check - a misspelled action kind (which would never match) is named, with the kind it meant', async () => {
    const file = sampleWith('kind', (t) =>
      t.replace(
        'actions: [git.force_push, git.delete_ref, git.tag_move, git.tag_delete]',
        'actions: [git.force_push, git.delete_ref, git.tag_mvoe, git.tag_delete]',
      ),
    );
    const io = capture();
    assert.equal(await runCli(['config', 'check', file], io), 1, io.text());
    assert.match(io.text(), /policy\.rules\[0\]\.actions\[2\]: "git\.tag_mvoe" names no action kind of any adapter \(did you mean "git\.tag_move"\?\)/);
  });

  it('config check - protectedRefs that no rule reads (it blocks nothing) is an error; an attribute no kind has is too', async () => {
    const unread = sampleWith('unread', (t) => t.replace('      when: attrs.protected\n', ''));
    const io = capture();
    assert.equal(await runCli(['config', 'check', unread], io), 1, io.text());
    assert.match(io.text(), /connections\[1\]\.options\.protectedRefs: set on "github-git", but no policy rule for this connection reads attrs\.protected/);
    const typo = sampleWith('attr', (t) => t.replace('when: attrs.protected', 'when: attrs.protcted'));
    const io2 = capture();
    assert.equal(await runCli(['config', 'check', typo], io2), 1, io2.text());
    assert.match(io2.text(), /policy\.rules\[0\]\.when: attrs\.protcted is not an attribute of any action kind this rule matches/);
  });

  it('policy test - the sample protects the tags it lists in protectedRefs: a tag move is denied (exit 3)', async () => {
    const action = join(dir, 'tag-move.yaml');
    writeFileSync(
      action,
      'action:\n  kind: git.tag_move\n  connection: github-git\n  attributes: { repo: /octo-org/app.git, ref: refs/tags/v1.0, refType: tag, fastForward: false, protected: true }\n',
    );
    const io = capture();
    assert.equal(await runCli(['policy', 'test', '--action', action, '--config', sampleConfigPath()], io), 3, io.text());
    assert.match(io.text(), /decision: deny\nrule: +protected-refs/);
  });

  it('usage - every command answers --help (and help COMMAND) with its usage and exit 0, starting nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['start', '--help'], /^usage: agentgate start \[--config FILE\]/],
      [['config', 'check', '--help'], /^usage: agentgate config check/],
      [['config', '-h'], /^usage: agentgate config check/],
      [['policy', 'test', '--help'], /^usage: agentgate policy test/],
      [['verify', '--help'], /^usage: agentgate verify/],
      [['trail', '--help'], /^usage: agentgate trail/],
      [['approvals', '--help'], /^usage: agentgate approvals/],
      [['demo', '--help'], /^usage: agentgate demo/],
      [['mcp-bridge', '--help'], /^usage: agentgate mcp-bridge/],
      [['help', 'verify'], /^usage: agentgate verify/],
    ];
    for (const [argv, want] of cases) {
      const io = capture();
      assert.equal(await runCli(argv, io), 0, argv.join(' '));
      assert.match(io.text(), want, argv.join(' '));
    }
  });

  it('usage - every command the overview lists runs (answers --help), none is unknown', async () => {
    const overview = capture();
    assert.equal(await runCli(['help'], overview), 0);
    const listed = [...new Set([...overview.text().matchAll(/^ {2}agentgate ([a-z][a-z-]*)/gm)].map((m) => m[1]!))].filter((c) => c !== 'help');
    assert.ok(listed.length >= 8, listed.join(' '));
    for (const command of listed) {
      const io = capture();
      assert.equal(await runCli([command, '--help'], io), 0, `${command}: ${io.text()}`);
      assert.match(io.text(), new RegExp(`^usage: agentgate ${command}`), command);
    }
  });

  it('usage - an unknown flag is a usage error (exit 2, named) in every command, never ignored', async () => {
    const cases: string[][] = [
      ['start', '--confg', 'x.yaml'],
      ['config', 'check', '--strict'],
      ['config', 'check', 'a.yaml', 'b.yaml'],
      ['policy', 'test', '--action', 'a.yaml', '--bogus'],
      ['verify', '--bogus'],
      ['trail', 'session-1', '--bogus'],
      ['approvals', 'list', '--bogus'],
      ['demo', '--bogus'],
      ['mcp-bridge', '--connection', 'tools', '--gateway', 'http://127.0.0.1:1', '--token', 't', '--bogus'],
    ];
    for (const argv of cases) {
      const io = capture();
      assert.equal(await runCli(argv, io), 2, `${argv.join(' ')}: ${io.text()}`);
      assert.match(io.text(), /--confg|--strict|"b\.yaml"|--bogus/, argv.join(' '));
    }
  });

  it('start - --config FILE is the configuration it starts on (not the sample)', async () => {
    const port = await freePort();
    const file = join(dir, 'start.yaml');
    writeFileSync(file, `gateway: { listen: { host: 127.0.0.1, port: ${port} } }\nbus: { dataDir: ${join(dir, 'start-data')} }\nlog: { level: error }\n`);
    const child = spawn(
      process.execPath,
      ['--conditions=agentgate-source', '--import', 'tsx', join(import.meta.dirname, '../src/bin.ts'), 'start', '--config', file],
      {
        env: { ...process.env, AGENTGATE_CONFIG: sampleConfigPath() },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      const until = Date.now() + 60_000;
      while (!out.includes('proxy listening on') && Date.now() < until && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, new RegExp(`config ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`), out);
      assert.match(out, new RegExp(`proxy listening on http://127\\.0\\.0\\.1:${port}`), out);
      const res = await fetch(`http://127.0.0.1:${port}/_agentgate/healthz`);
      assert.equal(res.status, 200);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
