import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Bus, createBus, RemoteError } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import { type Principal, validatePrincipal } from '@agentgate/events';
import { githubClaims, gitlabClaims, type NatsServer, startNats } from '@agentgate/testkit';
import { type IdentityService, startIdentityService, VERIFY_SUBJECT } from '../src/index.js';
import { configFor, type Issuers, startIssuers } from './helpers.js';

/** Captures log lines so tests can check the token never appears. */
function memoryLogger() {
  const lines: string[] = [];
  const push = (obj: object, msg?: string) => lines.push(JSON.stringify({ ...obj, msg }));
  return { lines, logger: { info: push, warn: push, debug: push } };
}

async function exercise(bus: Bus, iss: Issuers, lines: string[]): Promise<void> {
  const token = await iss.gh.mint(githubClaims());
  const p = await bus.request<Principal>(VERIFY_SUBJECT, { token });
  // The reply is a valid shared Principal.
  validatePrincipal(p);
  assert.equal(p.ci.repository, 'acme/app');
  assert.ok(p.groups.includes('release-bots'));

  const gl = await bus.request<Principal>(VERIFY_SUBJECT, { token: await iss.gl.mint(gitlabClaims()) });
  assert.equal(gl.ci.provider, 'gitlab-ci');

  const expired = await iss.gh.mint(githubClaims(), { expiresIn: -60 });
  await assert.rejects(bus.request(VERIFY_SUBJECT, { token: expired }), (err: unknown) => {
    assert.ok(err instanceof RemoteError);
    assert.equal(err.code, 'ERR_TOKEN_EXPIRED');
    return true;
  });
  await assert.rejects(bus.request(VERIFY_SUBJECT, { nothing: true }), { code: 'ERR_TOKEN_MALFORMED' });
  await assert.rejects(bus.request(VERIFY_SUBJECT, { token: await iss.gh.mint(githubClaims(), { alg: 'none' }) }), {
    code: 'ERR_TOKEN_ALG',
  });
  const all = lines.join('\n');
  assert.match(all, /ERR_TOKEN_EXPIRED/);
  for (const t of [token, expired]) assert.ok(!all.includes(t.split('.')[2] as string), 'no token in the log');
}

describe('identity service over the bus', () => {
  let iss: Issuers;
  before(async () => {
    iss = await startIssuers();
  });
  after(async () => {
    await iss.close();
  });

  test('service - identity.verify end to end over the in-process bus', async () => {
    const bus = await createBus();
    const { lines, logger } = memoryLogger();
    let svc: IdentityService | undefined;
    try {
      svc = await startIdentityService(bus, configFor(iss), logger);
      await exercise(bus, iss, lines);
      const stats = svc.service.stats();
      const ep = stats.endpoints.find((e) => e.subject === VERIFY_SUBJECT);
      assert.ok(ep && ep.requests >= 5 && ep.errors >= 3, `endpoint stats counted: ${JSON.stringify(ep)}`);
    } finally {
      await svc?.stop();
      await bus.close();
    }
  });

  test('service - identity.verify end to end over a real nats-server', async () => {
    let nats: NatsServer | undefined;
    let server: Bus | undefined;
    let client: Bus | undefined;
    try {
      nats = await startNats();
      server = await createBus({ natsUrl: nats.url, name: 'identity-test' });
      client = await createBus({ natsUrl: nats.url, name: 'proxy-test' });
      const { lines, logger } = memoryLogger();
      await startIdentityService(server, configFor(iss), logger);
      await exercise(client, iss, lines);
      // Work-around for the NATS bus: its JetStream manager is requested eagerly at connect and an
      // unawaited rejection surfaces when the connection closes first; settle it before closing.
    } finally {
      await client?.close();
      await server?.drain();
      await nats?.close();
    }
  });

  test('service - accepts the identity section loaded by @agentgate/config', async () => {
    const text = [
      'identity:',
      '  issuers:',
      '    - name: github',
      `      issuer: ${iss.gh.issuer}`,
      '      audiences: [agentgate]',
      '      profile: github-actions',
      '      claimConstraints:',
      '        repository_owner: acme',
      '  groups:',
      '    - name: release-bots',
      '      when:',
      `        iss: ${iss.gh.issuer}`,
      '        ref: refs/heads/main',
      '  cache:',
      '    maxEntries: 0',
    ].join('\n');
    const config = loadConfig({ text, env: {} });
    const bus = await createBus();
    try {
      const svc = await startIdentityService(bus, config.identity);
      const token = await iss.gh.mint(githubClaims());
      const p = await bus.request<Principal>(VERIFY_SUBJECT, { token });
      assert.deepEqual(p.groups, ['release-bots']);
      await bus.request<Principal>(VERIFY_SUBJECT, { token });
      assert.equal(svc.verifier.stats().verifications, 2, 'cache.maxEntries: 0 from the file disabled the cache');
      await assert.rejects(bus.request(VERIFY_SUBJECT, { token: await iss.gh.mint(githubClaims({ repository: 'evil/x' })) }), {
        code: 'ERR_TOKEN_CLAIM_CONSTRAINT',
      });
    } finally {
      await bus.close();
    }
  });
});
