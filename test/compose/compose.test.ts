import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '@agentgate/testkit';
// The demo's pieces are internal to the CLI package (its public API is the command); imported by path.
import { type DemoSessionResult, playDemoSession, remoteDemoAgent } from '@agentgate/demo';

/**
 * `docker-compose up` with a real engine (Debian's dockerd 20.10 and docker-compose 1.29):
 * the agentgate image is built from the Dockerfile, the third-party images are local
 * stand-ins (test/compose/build-standins.sh; no registry is reachable here), the stack runs
 * with the demo profile but without Dashboards (no image of it can be built here), and
 * all test traffic goes to ports published on 127.0.0.1.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const PROJECT = `agtest${randomBytes(3).toString('hex')}`;
/** Every long-running service started here (Dashboards and its import job are left out). */
const LONG_RUNNING = ['nats', 'opensearch', 'identity', 'secret-broker', 'masking', 'audit-writer', 'proxy', 'demo-issuer', 'demo-git', 'demo-model'];
const ONE_SHOT = ['setup', 'demo-agent'];
const timings: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'agentgate-compose-'));
let env: NodeJS.ProcessEnv = {};
let ports: { proxy: number; opensearch: number; issuer: number; model: number };
let started = false;

function sh(cmd: string, args: string[], opts: { timeoutMs?: number; allowFail?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { cwd: ROOT, env, timeout: opts.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      if (code !== 0 && !opts.allowFail)
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${String(stderr).slice(-4000)}\n${String(stdout).slice(-2000)}`));
      else resolvePromise({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const compose = (args: string[], opts?: { timeoutMs?: number; allowFail?: boolean }) =>
  sh('docker-compose', ['-p', PROJECT, '--profile', 'demo', ...args], opts);

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

/** Container id of a service of this project. */
async function containerOf(service: string): Promise<string> {
  return (await compose(['ps', '-q', service])).stdout.trim();
}

async function inspect(id: string, format: string): Promise<string> {
  return (await sh('docker', ['inspect', '--format', format, id])).stdout.trim();
}

/** Logs of every service, for the assertion message of a failure. */
async function logsTail(): Promise<string> {
  return (await compose(['logs', '--no-color', '--tail', '40'], { allowFail: true })).stdout.slice(-12_000);
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > until) assert.fail(`${what} within ${timeoutMs / 1000} s\n${await logsTail()}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function searchOpenSearch(query: unknown): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`http://127.0.0.1:${ports.opensearch}/agentgate-audit-*/_search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ size: 200, query }),
  });
  const body = (await res.json()) as { hits?: { hits?: Array<{ _source: Record<string, unknown> }> } };
  return (body.hits?.hits ?? []).map((h) => h._source);
}

before(async () => {
  await timed('engine', async () => {
    // Starts dockerd when it does not answer and builds the debootstrap base once (cached).
    execFileSync('bash', [join(ROOT, '.ci/install-docker.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
  });
  const images = await timed('stand-in images', async () => {
    const out = execFileSync('bash', [join(ROOT, 'test/compose/build-standins.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 900_000,
    });
    return Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
  });
  ports = { proxy: await freePort(), opensearch: await freePort(), issuer: await freePort(), model: await freePort() };
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // docker-compose 1.29 builds through the engine's classic builder (no buildx plugin here).
    DOCKER_BUILDKIT: '0',
    COMPOSE_DOCKER_CLI_BUILD: '0',
    ...images,
    // Built on the stand-in base: named so it cannot be mistaken for a release image.
    AGENTGATE_IMAGE: 'agentgate-standin/agentgate:compose-test',
    AGENTGATE_PORT: String(ports.proxy),
    OPENSEARCH_PORT: String(ports.opensearch),
    DEMO_ISSUER_PORT: String(ports.issuer),
    DEMO_MODEL_PORT: String(ports.model),
  };
});

after(async () => {
  if (started) {
    const down = await compose(['down', '-v', '--remove-orphans', '-t', '20'], { allowFail: true });
    if (down.code !== 0) process.stderr.write(`docker-compose down failed: ${down.stderr}\n`);
  }
  rmSync(work, { recursive: true, force: true });
  process.stderr.write(`compose test timings: ${timings.join(', ')}\n`);
});

describe('docker-compose stack', () => {
  let session: DemoSessionResult;

  it('compose - builds the image: multi-stage, non-root, with a health check, no dev or test packages, the built code', async () => {
    await timed('image build', () => compose(['build', 'setup'], { timeoutMs: 1_200_000 }));
    const image = env.AGENTGATE_IMAGE as string;
    const config = JSON.parse((await sh('docker', ['image', 'inspect', '--format', '{{json .Config}}', image])).stdout) as {
      User: string;
      Healthcheck?: { Test: string[] };
      Cmd: string[];
    };
    assert.equal(config.User, '10001:10001');
    assert.deepEqual(config.Healthcheck?.Test, ['CMD', 'node', '/app/deploy/docker/healthcheck.mjs']);
    assert.deepEqual(config.Cmd, ['node', 'packages/cli/dist/bin.js', 'start']);
    const listing = await sh('docker', [
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      image,
      '-c',
      'ls node_modules node_modules/@agentgate; find /app -name "*.ts" -not -path "*/node_modules/*" | head -5; id -u; ls /usr/local/lib/node_modules 2>&1 | head -3',
    ]);
    for (const absent of ['typescript', 'tsx', 'turbo', '@biomejs', 'oidc-provider', 'koa', 'testkit', 'fast-check', '@anthropic-ai']) {
      assert.ok(!listing.stdout.split(/\s+/).includes(absent), `${absent} is not in the runtime image:\n${listing.stdout}`);
    }
    assert.match(listing.stdout, /\bproxy\b/);
    assert.match(listing.stdout, /^10001$/m);
    // No TypeScript sources: the image runs tsc's output.
    assert.ok(
      !/\.ts$/m.test(
        listing.stdout
          .split('\n')
          .filter((l) => l.startsWith('/app'))
          .join('\n'),
      ),
      listing.stdout,
    );
    const size = Number((await sh('docker', ['image', 'inspect', '--format', '{{.Size}}', image])).stdout.trim());
    const base = Number((await sh('docker', ['image', 'inspect', '--format', '{{.Size}}', env.NODE_IMAGE as string])).stdout.trim());
    timings.push(`image ${(size / 1e6).toFixed(0)} MB (${((size - base) / 1e6).toFixed(0)} MB above the stand-in node base)`);
  });

  it('compose - up: every service healthy, setup done, the demo profile agent plays its session through the proxy', async () => {
    started = true;
    // `up -d` waits for the health of each dependency: a failure here says which container, the logs say why.
    await timed('up', () => compose(['up', '-d', '--no-build', ...LONG_RUNNING, ...ONE_SHOT], { timeoutMs: 1_200_000 })).catch(async (err: Error) =>
      assert.fail(`${err.message}\n${await logsTail()}`),
    );
    await timed('healthy', () =>
      waitFor(
        'every long-running service is healthy',
        async () => {
          for (const s of LONG_RUNNING) {
            const id = await containerOf(s);
            if (!id || (await inspect(id, '{{if .State.Health}}{{.State.Health.Status}}{{end}}')) !== 'healthy') return false;
          }
          return true;
        },
        300_000,
      ),
    );
    for (const s of LONG_RUNNING) {
      const id = await containerOf(s);
      assert.match(await inspect(id, '{{.HostConfig.RestartPolicy.Name}}'), /^(unless-stopped|always|on-failure)$/, `${s} restarts`);
    }
    const setup = await containerOf('setup');
    assert.equal(await inspect(setup, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 0');
    const setupLog = (await compose(['logs', '--no-color', 'setup'])).stdout;
    assert.match(setupLog, /secret \\?"github-token\\?" is missing: create \/run\/agentgate\/secrets\/github-token/);
    assert.match(setupLog, /index templates and lifecycle policy applied/);
    const writerLog = (await compose(['logs', '--no-color', 'audit-writer'])).stdout;
    assert.match(writerLog, /generated a checkpoint signing key \(the configured audit\.checkpoint\.keyPath did not exist\)/);

    const agent = await containerOf('demo-agent');
    await timed('demo agent', () => waitFor('the demo agent finished', async () => (await inspect(agent, '{{.State.Status}}')) === 'exited', 180_000));
    const agentLog = (await compose(['logs', '--no-color', 'demo-agent'])).stdout;
    assert.equal(await inspect(agent, '{{.State.ExitCode}}'), '0', agentLog);
    assert.match(agentLog, /git push origin main → pushed/);
    assert.match(agentLog, /git push --force origin main → refused: .*force-push denied by rule no-force-push-protected/);
    assert.match(agentLog, /deployment request → created \(201\)/);
    assert.match(agentLog, /the model received the password: no/);
    assert.match(agentLog, /\$ agentgate trail gh:127.0.0.1:8090\/acme\/app:/);
  });

  it('compose - the demo session from the host through the published loopback port: allowed, denied, held and approved, masked', async () => {
    const dbPassword = (await compose(['exec', '-T', 'secret-broker', 'cat', '/run/agentgate/demo-agent/db-password'])).stdout.trim();
    assert.ok(dbPassword.length > 10);
    const agent = remoteDemoAgent({ issuerUrl: `http://127.0.0.1:${ports.issuer}`, modelUrl: `http://127.0.0.1:${ports.model}`, dbPassword, workDir: work });
    const narration: string[] = [];
    session = await timed('host session', () => playDemoSession(agent, `http://127.0.0.1:${ports.proxy}`, (l) => narration.push(l)));
    const text = narration.join('\n');
    assert.equal(session.pushExit, 0, text);
    assert.notEqual(session.forcePushExit, 0, text);
    assert.match(session.forcePushError, /force-push denied by rule no-force-push-protected/);
    assert.equal(session.held?.status, 201, text);
    assert.equal(session.secretReachedModel, false);
    assert.equal(session.tokenReachedModel, false);
  });

  it('compose - the session is in OpenSearch (masked) and agentgate verify passes; an edited event makes it fail', async () => {
    const claims = JSON.parse(Buffer.from(session.token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { run_id: string; run_attempt: string };
    // identity's github-actions profile: gh:<issuer host>/<repository>:<run_id>:<run_attempt>
    const sessionId = `gh:127.0.0.1:8090/acme/app:${claims.run_id}:${claims.run_attempt}`;
    let events: Array<Record<string, unknown>> = [];
    const kinds = () =>
      events.map((e) => {
        // ECS: the kind is event.action; the phase stays agentgate.action.phase.
        const kind = (e['event'] as { action?: string } | undefined)?.action;
        const a = (e['agentgate'] as { action?: { phase?: string } }).action;
        return `${kind}/${a?.phase}`;
      });
    await waitFor(
      `the session's events are in OpenSearch`,
      async () => {
        events = await searchOpenSearch({ term: { 'agentgate.session.id': sessionId } }).catch(() => []);
        const k = kinds();
        return (
          k.some((x) => x.startsWith('git.force_push/denied')) &&
          k.some((x) => x.startsWith('git.push/completed')) &&
          k.some((x) => x.startsWith('http.post/approved')) &&
          k.some((x) => x.startsWith('http.post/completed')) &&
          k.filter((x) => x.startsWith('llm.exchange/completed')).length >= 3
        );
      },
      60_000,
    ).catch(async (err: Error) => assert.fail(`${err.message}\nkinds seen: ${kinds().join(', ')}`));
    const raw = JSON.stringify(events);
    const dbPassword = (await compose(['exec', '-T', 'secret-broker', 'cat', '/run/agentgate/demo-agent/db-password'])).stdout.trim();
    assert.ok(!raw.includes(dbPassword), 'the pasted password is not in the index');
    assert.ok(!raw.includes(session.token), 'the CI token is not in the index');
    assert.match(raw, /\[REDACTED:secret:db-password\]/);

    const verifyArgs = ['exec', '-T', 'audit-writer', 'node', 'packages/cli/dist/bin.js', 'verify'];
    let out = '';
    await waitFor(
      'agentgate verify passes (a checkpoint covers the head within audit.checkpoint.everySeconds)',
      async () => {
        const r = await compose(verifyArgs, { allowFail: true });
        out = r.stdout + r.stderr;
        return r.code === 0;
      },
      60_000,
    ).catch((err: Error) => assert.fail(`${err.message}\n${out}`));

    // Not vacuous: one edited event and verify fails.
    const hit = (await (
      await fetch(`http://127.0.0.1:${ports.opensearch}/agentgate-audit-*/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ size: 1, query: { term: { 'agentgate.session.id': sessionId } }, sort: [{ '@timestamp': 'asc' }] }),
      })
    ).json()) as { hits: { hits: Array<{ _index: string; _id: string }> } };
    const doc = hit.hits.hits[0];
    assert.ok(doc);
    const edit = await fetch(`http://127.0.0.1:${ports.opensearch}/${doc._index}/_update/${encodeURIComponent(doc._id)}?refresh=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ doc: { labels: { edited: 'after the fact' } } }),
    });
    assert.equal(edit.status, 200, await edit.text());
    const tampered = await compose(verifyArgs, { allowFail: true });
    assert.notEqual(tampered.code, 0, tampered.stdout);
    assert.match(tampered.stdout + tampered.stderr, /modified/i);
  });
});
