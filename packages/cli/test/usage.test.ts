import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { type Output, runCli } from '../src/index.js';
import { CI_ENV_USAGE } from '../src/commands/ci-env.js';
import { CI_TOKEN_USAGE } from '../src/commands/ci-token.js';
import { COMMAND_USAGE, type CommandName } from '../src/lib/usage.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = join(CLI, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'agentgate-cli-usage-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function capture(): Output & { text(): string } {
  const lines: string[] = [];
  return { out: (l) => lines.push(l), err: (l) => lines.push(l), text: () => lines.join('\n') };
}

/** Every subcommand each command has (the ones its code dispatches on). */
const SUBCOMMANDS: Record<CommandName, string[]> = {
  start: [],
  config: ['check'],
  policy: ['test'],
  verify: [],
  trail: [],
  approvals: ['list', 'show', 'approve', 'reject'],
  'mcp-bridge': [],
  kubeconfig: ['token'],
  ci: ['env', 'token'],
  demo: ['serve', 'agent'],
};

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, NO_UPDATE_NOTIFIER: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('usage', () => {
  it('usage - every command and subcommand answers --help and -h with its usage on stdout, exit 0', async () => {
    const own: Record<string, string> = { 'ci env': CI_ENV_USAGE, 'ci token': CI_TOKEN_USAGE };
    const commands = Object.keys(COMMAND_USAGE) as CommandName[];
    assert.deepEqual([...commands].sort(), Object.keys(SUBCOMMANDS).sort(), 'SUBCOMMANDS lists every command');
    for (const command of commands) {
      for (const sub of [undefined, ...SUBCOMMANDS[command]]) {
        for (const flag of ['--help', '-h']) {
          const argv = sub ? [command, sub, flag] : [command, flag];
          const lines: string[] = [];
          const errors: string[] = [];
          const code = await runCli(argv, { out: (l) => lines.push(l), err: (l) => errors.push(l) });
          const name = argv.join(' ');
          assert.equal(code, 0, name);
          assert.deepEqual(errors, [], name);
          const want = (sub && own[`${command} ${sub}`]) || COMMAND_USAGE[command];
          assert.equal(lines.join('\n'), want, name);
          assert.match(want, new RegExp(`^usage: agentgate ${command}${sub && own[`${command} ${sub}`] ? ` ${sub}` : ''}\\b`), name);
        }
      }
    }
  });

  it('usage - help COMMAND SUBCOMMAND prints the subcommand usage; help of an unknown command exits 2', async () => {
    const io = capture();
    assert.equal(await runCli(['help', 'ci', 'token'], io), 0);
    assert.equal(io.text(), CI_TOKEN_USAGE);
    const bad = capture();
    assert.equal(await runCli(['help', 'serve'], bad), 2);
    assert.match(bad.text(), /^unknown command "serve"/);
  });

  it('usage - agentgate --help and -h list every command, exit 0; no command at all is a usage error (exit 2)', async () => {
    for (const flag of ['--help', '-h']) {
      const io = capture();
      assert.equal(await runCli([flag], io), 0, flag);
      for (const command of Object.keys(COMMAND_USAGE)) assert.match(io.text(), new RegExp(`^ {2}agentgate ${command}\\b`, 'm'), `${flag} lists ${command}`);
    }
    assert.equal(await runCli([], capture()), 2);
  });

  it('usage - the demo usage is the one the demo command enforces (serve and agent are listed)', async () => {
    const io = capture();
    assert.equal(await runCli(['demo', 'serve', 'nothing'], io), 2);
    assert.match(io.text(), /agentgate demo serve issuer\|git\|model/);
    assert.match(COMMAND_USAGE.demo, /agentgate demo agent --gateway URL/);
  });
});

describe('bin', () => {
  it('bin - `npx agentgate` in a checkout runs the TypeScript sources (no build) and exits with the command code', async () => {
    const help = await run('npx', ['--no-install', 'agentgate', 'trail', '--help'], ROOT);
    assert.equal(help.code, 0, help.err);
    assert.equal(help.out.trimEnd(), COMMAND_USAGE.trail);
    const unknown = await run('npx', ['--no-install', 'agentgate', 'nonsense'], ROOT);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown command "nonsense"/);
  });

  // A package laid out like packages/cli beside a workspace package with a source and a built entry:
  // which one the launcher runs shows which mode it chose.
  function fakeCheckout(name: string, parts: { source: boolean; tsx: boolean; built: boolean }): string {
    const root = join(tmp, name);
    mkdirSync(join(root, 'pkg', 'bin'), { recursive: true });
    copyFileSync(join(CLI, 'bin', 'agentgate.js'), join(root, 'pkg', 'bin', 'agentgate.js'));
    writeFileSync(join(root, 'pkg', 'package.json'), '{ "type": "module" }\n');
    const dep = join(root, 'node_modules', '@agentgate', 'fake');
    mkdirSync(dep, { recursive: true });
    writeFileSync(
      join(dep, 'package.json'),
      JSON.stringify({ name: '@agentgate/fake', type: 'module', exports: { '.': { 'agentgate-source': './src.ts', default: './dist.js' } } }),
    );
    writeFileSync(join(dep, 'src.ts'), "export const from: string = 'source';\n");
    writeFileSync(join(dep, 'dist.js'), "export const from = 'dist';\n");
    if (parts.tsx) symlinkSync(join(ROOT, 'node_modules', 'tsx'), join(root, 'node_modules', 'tsx'));
    if (parts.source) {
      mkdirSync(join(root, 'pkg', 'src'));
      writeFileSync(
        join(root, 'pkg', 'src', 'bin.ts'),
        "import { from } from '@agentgate/fake';\nconst n: number = 3;\nprocess.stdout.write(`src/bin.ts, dependency from ${from}`);\nprocess.exitCode = n;\n",
      );
    }
    if (parts.built) {
      mkdirSync(join(root, 'pkg', 'dist'));
      writeFileSync(
        join(root, 'pkg', 'dist', 'bin.js'),
        "import { from } from '@agentgate/fake';\nprocess.stdout.write(`dist/bin.js, dependency from ${from}`);\n",
      );
    }
    return join(root, 'pkg', 'bin', 'agentgate.js');
  }

  it('bin - with tsx and the sources, the launcher runs src/bin.ts with workspace packages resolved to their sources', async () => {
    const r = await run(process.execPath, [fakeCheckout('checkout', { source: true, tsx: true, built: true })], tmp);
    assert.equal(r.out, 'src/bin.ts, dependency from source', r.err);
    assert.equal(r.code, 3, 'the exit code set by the command is kept');
  });

  it('bin - without tsx (a built install) it runs dist/bin.js; with neither it says what to run (exit 2)', async () => {
    const built = await run(process.execPath, [fakeCheckout('install', { source: true, tsx: false, built: true })], tmp);
    assert.equal(built.out, 'dist/bin.js, dependency from dist', built.err);
    assert.equal(built.code, 0);
    const none = await run(process.execPath, [fakeCheckout('empty', { source: false, tsx: false, built: false })], tmp);
    assert.equal(none.code, 2);
    assert.match(none.err, /run `npm ci` \(or `npm run build`\)/);
  });
});
