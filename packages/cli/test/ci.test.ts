import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CiIssuer, githubClaims, requireBinary, startCiIssuer, startTlsFront, tempDir } from '@agentgate/testkit';
import { parse } from 'yaml';
import { bundleCi, CI_BUNDLE } from '../scripts/bundle-ci.js';
import { ciEnv } from '../src/commands/ci-env.js';
import { currentToken } from '../src/commands/ci-source.js';
import { ciToken } from '../src/commands/ci-token.js';
import type { Output } from '../src/lib/output.js';

const dir = tempDir('cli-ci');
let issuer: CiIssuer;
before(async () => {
  issuer = await startCiIssuer({ actionsRuntime: { claims: () => githubClaims({ repository: 'acme/app' }), expiresIn: 300 } });
});
after(async () => {
  await issuer?.close();
  dir.cleanup();
});

function capture(): Output & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return { out_, err_, out: (l) => out_.push(l), err: (l) => err_.push(l) };
}
const io = (env: NodeJS.ProcessEnv, stdin = '') => ({ env, stdin: async () => stdin });
const runtimeEnv = (): NodeJS.ProcessEnv => ({ ...(issuer.actions?.env() ?? {}) });
const GATEWAY = 'https://gw.example.test:8443';

describe('ci token', () => {
  it('asks the Actions runtime with the audience, masks the raw token first, and reuses it from the cache until it nears expiry', async () => {
    const rt = issuer.actions;
    assert.ok(rt);
    const cache = join(dir.path, 'token-cache');
    const start = rt.requests;
    const a = capture();
    assert.equal(await ciToken(['--audience', 'gw-aud', '--cache', cache, '--refresh-before', '120'], a, io(runtimeEnv())), 0);
    const token = a.out_[0] as string;
    assert.match(token, /^eyJ/);
    assert.deepEqual(a.err_, [`::add-mask::${token}`]);
    assert.equal(rt.audiences.at(-1), 'gw-aud');
    assert.equal(rt.requests, start + 1);
    assert.equal(statSync(cache).mode & 0o777, 0o600);
    // 300 s left > 120: the cached token, no new request.
    const b = capture();
    await ciToken(['--audience', 'gw-aud', '--cache', cache, '--refresh-before', '120'], b, io(runtimeEnv()));
    assert.equal(b.out_[0], token);
    assert.equal(rt.requests, start + 1);
    // Within --refresh-before of its expiry (a long agent run): a fresh token from the runtime.
    const c = capture();
    await ciToken(['--audience', 'gw-aud', '--cache', cache, '--refresh-before', '400'], c, io(runtimeEnv()));
    assert.equal(rt.requests, start + 2);
    assert.equal(readFileSync(cache, 'utf8').trim(), c.out_[0]);
  });

  it('a cached token is replaced once the clock passes its refresh point', async () => {
    const cache = join(dir.path, 'clock-cache');
    const first = await currentToken({ kind: 'github', audience: 'agentgate' }, runtimeEnv(), { cache, refreshBefore: 60 });
    assert.equal(first.fresh, true);
    const exp = first.expiresAt as number;
    const still = await currentToken({ kind: 'github', audience: 'agentgate' }, runtimeEnv(), { cache, refreshBefore: 60, now: () => exp - 61 });
    assert.equal(still.fresh, false);
    const renewed = await currentToken({ kind: 'github', audience: 'agentgate' }, runtimeEnv(), { cache, refreshBefore: 60, now: () => exp - 59 });
    assert.equal(renewed.fresh, true);
  });

  it('the git credential helper answers only for the gateway, and erase drops the cache', async () => {
    const env = { ...runtimeEnv(), AGENTGATE_GATEWAY: GATEWAY };
    const cache = join(dir.path, 'git-cache');
    const mine = capture();
    await ciToken(['--format', 'git-credential', '--cache', cache, 'get'], mine, io(env, 'protocol=https\nhost=gw.example.test:8443\npath=git/acme/app.git\n'));
    assert.match(mine.out_.join('\n'), /^username=agentgate\npassword=eyJ[\w.-]+$/);
    const other = capture();
    await ciToken(['--format', 'git-credential', '--cache', cache, 'get'], other, io(env, 'protocol=https\nhost=github.com\n'));
    assert.deepEqual(other.out_, [], 'no token for another host');
    await ciToken(['--format', 'git-credential', '--cache', cache, 'erase'], capture(), io(env, 'protocol=https\nhost=gw.example.test:8443\n'));
    assert.throws(() => statSync(cache), { code: 'ENOENT' });
  });

  it('the docker credential helper answers for the gateway host only; exec-credential expires 30 s before the token', async () => {
    const env = { ...runtimeEnv(), AGENTGATE_GATEWAY: GATEWAY };
    const mine = capture();
    assert.equal(await ciToken(['--format', 'docker-credential', 'get'], mine, io(env, 'gw.example.test:8443')), 0);
    const cred = JSON.parse(mine.out_[0] as string) as { Username: string; Secret: string };
    assert.equal(cred.Username, 'agentgate');
    assert.match(cred.Secret, /^eyJ/);
    const other = capture();
    assert.equal(await ciToken(['--format', 'docker-credential', 'get'], other, io(env, 'registry-1.docker.io')), 1);
    assert.deepEqual(other.out_, ['credentials not found in native keychain']);
    const kube = capture();
    await ciToken(['--format', 'exec-credential'], kube, io({ ...env, KUBERNETES_EXEC_INFO: '{"apiVersion":"client.authentication.k8s.io/v1beta1"}' }));
    const ec = JSON.parse(kube.out_[0] as string) as { apiVersion: string; kind: string; status: { token: string; expirationTimestamp: string } };
    assert.equal(ec.apiVersion, 'client.authentication.k8s.io/v1beta1');
    assert.equal(ec.kind, 'ExecCredential');
    const exp = JSON.parse(Buffer.from(ec.status.token.split('.')[1] as string, 'base64url').toString('utf8')).exp as number;
    assert.equal(Date.parse(ec.status.expirationTimestamp) / 1000, exp - 30);
  });

  it('bad sources fail with a code and never echo what they held: no source, an expired GitLab token, a value that is not a token', async () => {
    await assert.rejects(ciToken([], capture(), io({})), { code: 'ERR_CLI_USAGE' });
    const expired = await issuer.mint(githubClaims(), { expiresIn: -60 });
    await assert.rejects(
      ciToken(['--source', 'gitlab'], capture(), io({ GITLAB_CI: 'true', AGENTGATE_ID_TOKEN: expired })),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_CI_TOKEN_EXPIRED');
        assert.equal(err.message.includes(expired), false);
        return true;
      },
    );
    const junk = 'abc\nX-Injected: 1';
    await assert.rejects(ciToken(['--source', 'env'], capture(), io({ AGENTGATE_CI_TOKEN: junk })), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_CI_TOKEN_UNAVAILABLE');
      assert.equal(err.message.includes('X-Injected'), false);
      return true;
    });
    const noPerm = { ACTIONS_ID_TOKEN_REQUEST_URL: issuer.actions?.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong' };
    await assert.rejects(ciToken(['--source', 'github'], capture(), io(noPerm)), { code: 'ERR_CI_TOKEN_REQUEST' });
  });
});

describe('ci env', () => {
  it('configures every connection type; files are private; the token is only in the variables that must hold it', async () => {
    const token = await issuer.mint(githubClaims());
    const out = capture();
    const state = join(dir.path, 'state');
    const env = { AGENTGATE_CI_TOKEN: token, HOME: dir.path };
    const conns = ['git:gh=https://github.com/', 'openai:openai', 'anthropic:claude', 'registry:ghcr', 'kubernetes:prod=agents', 'mcp:tools', 'http:api'];
    assert.equal(
      await ciEnv(
        [
          '--gateway',
          `${GATEWAY}/`,
          '--source',
          'env',
          '--dir',
          state,
          '--format',
          'json',
          '--command',
          'agentgate ci',
          ...conns.flatMap((c) => ['--connection', c]),
        ],
        out,
        io(env),
      ),
      0,
    );
    const { env: vars, path } = JSON.parse(out.out_.join('\n')) as { env: Record<string, string>; path: string[] };
    assert.equal(vars.OPENAI_BASE_URL, `${GATEWAY}/openai/v1`);
    assert.equal(vars.ANTHROPIC_BASE_URL, `${GATEWAY}/claude`);
    assert.equal(vars.AGENTGATE_REGISTRY_GHCR, 'gw.example.test:8443/ghcr');
    assert.equal(vars.AGENTGATE_MCP_TOOLS_URL, `${GATEWAY}/tools`);
    assert.equal(vars.AGENTGATE_URL_API, `${GATEWAY}/api`);
    const withToken = Object.entries(vars)
      .filter(([, v]) => v === token)
      .map(([k]) => k)
      .sort();
    assert.deepEqual(withToken, ['AGENTGATE_TOKEN', 'ANTHROPIC_AUTH_TOKEN', 'OPENAI_API_KEY']);
    assert.deepEqual(path, [join(state, 'bin')]);
    assert.equal(statSync(state).mode & 0o777, 0o700);
    for (const f of ['gitconfig', 'docker/config.json', 'kubeconfig', 'mcp.json']) {
      assert.equal(statSync(join(state, f)).mode & 0o777, 0o600, f);
      assert.equal(readFileSync(join(state, f), 'utf8').includes(token), false, `${f} holds the token`);
    }
    const git = readFileSync(vars.GIT_CONFIG_GLOBAL as string, 'utf8');
    assert.match(git, /\[credential "https:\/\/gw\.example\.test:8443\/"\]\n\thelper = ""\n\thelper = "!agentgate ci 'token' /);
    assert.match(git, /\[url "https:\/\/gw\.example\.test:8443\/gh\/"\]\n\tinsteadOf = "https:\/\/github\.com\/"/);
    const docker = JSON.parse(readFileSync(vars.REGISTRY_AUTH_FILE as string, 'utf8')) as { credHelpers: Record<string, string> };
    assert.equal(docker.credHelpers['gw.example.test:8443'], 'agentgate');
    const kube = parse(readFileSync(vars.KUBECONFIG as string, 'utf8'));
    assert.equal(kube.clusters[0].cluster.server, `${GATEWAY}/prod`);
    assert.equal(kube.contexts[0].context.namespace, 'agents');
    assert.equal(kube.users[0].user.exec.command, '/bin/sh');
    assert.ok(kube.users[0].user.exec.args.includes('exec-credential'));
    const mcp = JSON.parse(readFileSync(vars.AGENTGATE_MCP_CONFIG as string, 'utf8')) as {
      mcpServers: Record<string, { url: string; headers: Record<string, string> }>;
    };
    assert.deepEqual(mcp.mcpServers.tools, { type: 'http', url: `${GATEWAY}/tools`, headers: { Authorization: 'Bearer ${AGENTGATE_TOKEN}' } });
  });

  it('--format github masks the token before anything and writes heredoc entries no value can break out of', async () => {
    const token = await issuer.mint(githubClaims());
    const envFile = join(dir.path, 'github-env');
    const pathFile = join(dir.path, 'github-path');
    const out = capture();
    await ciEnv(
      [
        '--gateway',
        GATEWAY,
        '--source',
        'env',
        '--dir',
        join(dir.path, 'gh-state'),
        '--format',
        'github',
        '--connection',
        'openai:openai',
        '--connection',
        'registry:r',
      ],
      out,
      io({ AGENTGATE_CI_TOKEN: token, GITHUB_ACTIONS: 'true', GITHUB_ENV: envFile, GITHUB_PATH: pathFile, HOME: dir.path }),
    );
    assert.equal(out.out_[0], `::add-mask::${token}`);
    assert.equal(out.out_.slice(1).join('\n').includes(token), false);
    const text = readFileSync(envFile, 'utf8');
    assert.match(text, /^OPENAI_API_KEY<<(ghadelimiter_[0-9a-f]{32})\neyJ[\w.-]+\n\1$/m);
    assert.equal(readFileSync(pathFile, 'utf8').trim(), join(dir.path, 'gh-state', 'bin'));
  });

  it("kubectl runs the kubeconfig's exec plugin and presents the token as a bearer to <gateway>/<connection>", async () => {
    const kubectl = requireBinary('kubectl', 'apt-get install -y kubectl');
    const seen: Array<{ url: string; auth: string | undefined }> = [];
    // A stand-in for the gateway's kubernetes connection: records what kubectl sends.
    const server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', auth: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"NamespaceList","apiVersion":"v1","items":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    // kubectl sends no credential over plain http: the gateway is https, here a TLS front with a test CA.
    const front = await startTlsFront(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    try {
      const token = await issuer.mint(githubClaims());
      const out = capture();
      const env = { AGENTGATE_CI_TOKEN: token, HOME: dir.path, PATH: process.env.PATH, SSL_CERT_FILE: front.caFile };
      // The helper as the action runs it: the bundled ci commands.
      await ciEnv(
        [
          '--gateway',
          front.url,
          '--source',
          'env',
          '--dir',
          join(dir.path, 'kube-state'),
          '--format',
          'json',
          '--command',
          `${process.execPath} ${CI_BUNDLE}`,
          '--connection',
          'kubernetes:prod=agents',
        ],
        out,
        io(env),
      );
      const vars = (JSON.parse(out.out_.join('\n')) as { env: Record<string, string> }).env;
      const r = await new Promise<{ code: number; stderr: string }>((res) => {
        execFile(kubectl, ['get', '--raw', '/api/v1/namespaces'], { env: { ...env, KUBECONFIG: vars.KUBECONFIG } }, (err, _o, stderr) =>
          res({ code: err ? 1 : 0, stderr }),
        );
      });
      assert.equal(r.code, 0, r.stderr);
      const shown = JSON.stringify(seen.map((q) => [q.url, q.auth === `Bearer ${token}`]));
      // kubectl's version check goes under the connection's path; every request carries the plugin's token.
      assert.ok(
        seen.some((q) => q.url.startsWith('/prod/')),
        shown,
      );
      assert.ok(seen.length > 0 && seen.every((q) => q.auth === `Bearer ${token}`), shown);
    } finally {
      await front.close();
      server.close();
    }
  });

  it('usage errors: no gateway, a gateway with credentials, an unknown connection type', async () => {
    const env = { AGENTGATE_CI_TOKEN: 'a.b.c' };
    await assert.rejects(ciEnv(['--source', 'env'], capture(), io(env)), /--gateway URL is required/);
    await assert.rejects(ciEnv(['--gateway', 'https://u:p@gw.example.test', '--source', 'env'], capture(), io(env)), /without credentials/);
    await assert.rejects(ciEnv(['--gateway', GATEWAY, '--source', 'env', '--connection', 'ftp:x'], capture(), io(env)), /unknown connection type "ftp"/);
  });
});

describe('ci bundle', () => {
  it('ci/dist/agentgate-ci.mjs is the bundle of the current sources (run `npm run bundle:ci -w @agentgate/cli`)', async () => {
    assert.equal(readFileSync(CI_BUNDLE, 'utf8'), await bundleCi());
  });
});
