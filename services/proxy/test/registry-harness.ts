import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Bus } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import type { AuditEvent } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import {
  type CiIssuer,
  githubClaims,
  type NatsServer,
  type Registry,
  type RegistryTokenIssuer,
  requireBinary,
  startCiIssuer,
  startNats,
  startRegistry,
  startRegistryTokenIssuer,
  tempDir,
} from '@agentgate/testkit';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { type Backends, startBackends } from './backends.js';
import { assertNoSecret, auditEvents, BASIC_USER } from './harness.js';

/**
 * The whole path for registry clients: nats-server, identity, broker,
 * approvals and the proxy, in front of two real Distribution 2.8
 * registries: `hub` (htpasswd) and `tok` (token auth, with the testkit's
 * token issuer), plus `flaky`, a stand-in registry that misbehaves on
 * purpose (500, hangs, foreign Location) for the bad-input tests.
 */
export interface RegistryHarness {
  nats: NatsServer;
  bus: Bus;
  issuer: CiIssuer;
  backends: Backends;
  proxy: ProxyHandle;
  /** `127.0.0.1:<port>` of the gateway: image references are `<host>/<connection>/<repository>:<tag>`. */
  host: string;
  hub: Registry;
  tok: Registry;
  tokenIssuer: RegistryTokenIssuer;
  flaky: FlakyRegistry;
  /** The brokered credentials (the clients never have them). */
  secrets: { hub: string; tok: string };
  /** CI token of acme/app (pushes, pulls; deletes need review). */
  token: string;
  /** CI token of acme/ops: group release-managers, the approvers. */
  approverToken: string;
  /** CI token of other/app: refused everywhere. */
  outsiderToken: string;
  dir: string;
  /** Every byte a client printed (debug output included), for the credential scans. */
  clientOutput: string[];
  /** The configuration the harness's proxy runs with (a bench starts the built proxy with it, plus `listen` and `bus`). */
  configText: string;
  /** Fails when any form of either upstream credential, or a token the token issuer minted, is in `text`. */
  assertClean(text: string, where: string): void;
  close(): Promise<void>;
}

/** Forms of a token-issuer JWT that must never reach a client: its header (fixed per issuer key) starts every token. */
function tokenMarkers(h: { tokenIssuer: RegistryTokenIssuer }): string[] {
  return h.tokenIssuer.requests.length === 0 ? [] : ['"iss":"agentgate-testkit-token-issuer"', 'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6'];
}

function configText(x: { hub: string; tok: string; flaky: string; issuer: string }): string {
  return `
gateway:
  name: registry-gateway
  limits: { maxBodyBytes: 1073741824, requestTimeoutMs: 600000, idleTimeoutMs: 120000 }
approvals:
  timeoutMs: 60000
  approverGroups: [release-managers]
identity:
  issuers:
    - { name: gh, issuer: ${x.issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
  groups:
    - { name: acme-ci, when: { repository_owner: acme } }
    - { name: release-managers, when: { repository: acme/ops } }
connections:
  - name: hub
    type: registry
    upstream: ${x.hub}
    credential: { ref: hub-password, inject: basic, username: ${BASIC_USER} }
  - name: tok
    type: registry
    upstream: ${x.tok}
    credential: { ref: tok-password, inject: basic, username: ${BASIC_USER} }
  - name: flaky
    type: registry
    upstream: ${x.flaky}
    credential: { ref: hub-password, inject: basic, username: ${BASIC_USER} }
    limits: { timeoutMs: 1500 }
    options: { maxManifestBytes: 65536 }
secrets:
  - { ref: hub-password, source: env, env: REGISTRY_TEST_HUB_PASSWORD }
  - { ref: tok-password, source: env, env: REGISTRY_TEST_TOK_PASSWORD }
policy:
  default: deny
  rules:
    - { name: only-acme, actions: ['registry.*'], when: "!('acme-ci' in principal.groups)", decision: deny, reason: only acme pipelines may use the registries }
    - { name: immutable-tags, actions: [registry.tag_overwrite], when: 'attrs.tag.matches("^(v[0-9]|release-)")', decision: deny, reason: release tags are immutable }
    - { name: review-deletes, actions: [registry.delete], decision: review, reason: deleting images needs a release manager }
    - { name: no-tok-catalog, actions: [registry.catalog], connections: [tok, flaky], decision: deny, reason: this catalog is private }
    - { name: registry-ok, actions: ['registry.*'], decision: allow }
`;
}

export async function startRegistryHarness(): Promise<RegistryHarness> {
  // Characters that URL-encoding and base64 change, so every encoded form differs from the raw value.
  const secrets = { hub: `hub_${randomBytes(18).toString('base64url')}+/=`, tok: `tok_${randomBytes(18).toString('base64url')}+/=` };
  const tmp = tempDir('proxy-registry');
  const nats = await startNats();
  const hub = await startRegistry({ auth: { username: BASIC_USER, password: secrets.hub } });
  const tokenIssuer = await startRegistryTokenIssuer({ username: BASIC_USER, password: secrets.tok });
  const tok = await startRegistry({ tokenAuth: tokenIssuer });
  const flaky = await startFlakyRegistry();
  const issuer = await startCiIssuer({ alg: 'RS256' });
  const text = configText({ hub: hub.url, tok: tok.url, flaky: flaky.url, issuer: issuer.issuer });
  const config = loadConfig({ text, env: {} });
  const backends = await startBackends({ natsUrl: nats.url, name: 'proxy-registry-test' }, config, {
    REGISTRY_TEST_HUB_PASSWORD: secrets.hub,
    REGISTRY_TEST_TOK_PASSWORD: secrets.tok,
  });
  const logger = createLogger({ name: 'proxy', level: 'warn', destination: { write: () => {} } });
  const proxy = await startProxy(backends.bus, config, logger, { host: '127.0.0.1', port: 0 });
  const token = await issuer.mint(githubClaims({ repository: 'acme/app' }));
  const approverToken = await issuer.mint(githubClaims({ repository: 'acme/ops', run_id: '7100000777', actor: 'release-manager', actor_id: '710001' }));
  const outsiderToken = await issuer.mint(githubClaims({ repository: 'other/app', run_id: '7100000888', actor: 'stranger', actor_id: '710002' }));
  const h: RegistryHarness = {
    nats,
    bus: backends.bus,
    issuer,
    backends,
    proxy,
    host: new URL(proxy.url).host,
    hub,
    tok,
    tokenIssuer,
    flaky,
    secrets,
    token,
    approverToken,
    outsiderToken,
    dir: tmp.path,
    clientOutput: [],
    configText: text,
    assertClean(text, where) {
      assertNoSecret(text, secrets.hub, `${where} (hub credential)`);
      assertNoSecret(text, secrets.tok, `${where} (tok credential)`);
      for (const marker of tokenMarkers(h)) if (text.includes(marker)) throw new Error(`${where}: an upstream bearer token reached the client`);
    },
    close: async () => {
      await proxy.close();
      await backends.stop();
      await issuer.close();
      await flaky.close();
      await tok.stop();
      await tokenIssuer.close();
      await hub.stop();
      await nats.close();
      tmp.cleanup();
    },
  };
  return h;
}

/**
 * Events of actions whose kind starts with `registry.` matching `pred`. Completed events are
 * published after the response, so it polls (up to 3 s) until `ready` holds: a phase that one
 * of the events must have, or a predicate over the selection (e.g. `settled`).
 */
export async function registryEvents(
  h: RegistryHarness,
  pred: (e: AuditEvent) => boolean = () => true,
  ready?: string | ((events: AuditEvent[]) => boolean),
): Promise<AuditEvent[]> {
  const pick = async (): Promise<AuditEvent[]> => (await auditEvents(h.bus)).filter((e) => e.event.action.startsWith('registry.') && pred(e));
  const ok = typeof ready === 'string' ? (evs: AuditEvent[]) => evs.some((e) => e.agentgate.action.phase === ready) : ready;
  for (let i = 0; i < 100; i++) {
    const events = await pick();
    if (!ok || ok(events)) return events;
    await new Promise((r) => setTimeout(r, 30));
  }
  return pick();
}

/** True when every action of `events` that was requested has also completed or failed. */
export function settled(events: AuditEvent[]): boolean {
  const ended = new Set(events.filter((e) => ['completed', 'failed'].includes(e.agentgate.action.phase)).map((e) => e.agentgate.action.id));
  return events.filter((e) => e.agentgate.action.phase === 'requested').every((e) => ended.has(e.agentgate.action.id));
}

/** The digest a tag points at, read from the upstream registry's own storage (not through the gateway, no token needed). */
export function upstreamDigest(reg: Registry, repository: string, tag: string): string | null {
  const link = join(reg.storageDir, 'docker', 'registry', 'v2', 'repositories', repository, '_manifests', 'tags', tag, 'current', 'link');
  return existsSync(link) ? readFileSync(link, 'utf8').trim() : null;
}

/** Runs skopeo with `--debug` (every byte kept and scanned for credentials); never throws, the caller checks `code`. */
export function skopeo(h: RegistryHarness, args: string[], timeoutMs = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = requireBinary('skopeo', 'apt-get install -y skopeo');
  const home = join(h.dir, 'skopeo-home');
  mkdirSync(home, { recursive: true });
  return new Promise((resolve) => {
    execFile(
      bin,
      ['--debug', ...args],
      {
        env: { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: home, REGISTRY_AUTH_FILE: join(home, 'auth.json'), LANG: 'C' },
        maxBuffer: 256 * 1024 * 1024,
        timeout: timeoutMs,
      },
      (err, stdout, stderr) => {
        h.clientOutput.push(stdout, stderr);
        h.assertClean(stdout + stderr, `skopeo ${args[0]}`);
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Writes an OCI image layout (`oci:<dir>:<tag>`) with one uncompressed
 * layer holding `files` (a real tar), for skopeo to copy from. Random
 * bytes in a file make a new digest on every call.
 */
export function writeOciImage(dir: string, tag: string, files: Record<string, Buffer | string>): { dir: string; ref: string } {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const blob = (bytes: Buffer): { digest: string; size: number } => {
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(dir, 'blobs', 'sha256', hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const layer = tarOf(files);
  const l = blob(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [l.digest] },
      history: [{ created_by: 'agentgate test' }],
    }),
  );
  const c = blob(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...c },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l }],
    }),
  );
  const m = blob(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  return { dir, ref: `oci:${dir}:${tag}` };
}

/**
 * An OCI layout (`oci:<dir>`, no tag) of `layers` gzip layers of random data, `mb` MB in all:
 * gzip-framed beforehand at level 0 (stored blocks: random data would not shrink anyway, and the
 * framing costs no CPU), so skopeo sends the blobs as they are instead of compressing on the fly. Fresh random data: every call is new blobs.
 */
export function writeBigOciImage(dir: string, x: { mb: number; layers: number }): string {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const blob = (bytes: Buffer): { digest: string; size: number } => {
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(dir, 'blobs', 'sha256', hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const diffIds: string[] = [];
  const descs = [];
  for (let i = 0; i < x.layers; i++) {
    const tar = tarOf({ [`data-${i}.bin`]: randomBytes(Math.round((x.mb * 1024 * 1024) / x.layers)) });
    diffIds.push(`sha256:${createHash('sha256').update(tar).digest('hex')}`);
    descs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob(gzipSync(tar, { level: 0 })) });
  }
  const config = blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } })));
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: descs,
      }),
    ),
  );
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest }] }),
  );
  return `oci:${dir}`;
}

/** A ustar archive of regular files (mode 0644), enough for an image layer. */
export function tarOf(files: Record<string, Buffer | string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100, 'utf8');
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write(
      `${Math.floor(Date.now() / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
    );
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/**
 * A registry stand-in that misbehaves by repository: `fail/…` answers 500,
 * `hang/…` never answers, `evil/…` starts uploads with a Location on
 * another host, `ok/…` answers a manifest HEAD with 404 and accepts
 * manifest PUTs (201), `link/…` answers a tags list with a Link on its own
 * host and one elsewhere. `/v2/` asks for Basic like an htpasswd registry.
 * It records what reached it, so tests can prove nothing did.
 */
export interface FlakyRegistry {
  readonly url: string;
  readonly seen: Array<{ method: string; url: string }>;
  /** TCP connections it accepted so far (the gateway's pools keep theirs open between requests). */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startFlakyRegistry(): Promise<FlakyRegistry> {
  const seen: FlakyRegistry['seen'] = [];
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    seen.push({ method: req.method ?? '', url });
    req.resume();
    if (url === '/v2/') {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="flaky"', 'content-length': 0 });
      res.end();
      return;
    }
    if (url.startsWith('/v2/hang/')) {
      hanging.add(res);
      return;
    }
    if (url.startsWith('/v2/fail/')) {
      const body = '{"errors":[{"code":"UNKNOWN","message":"storage exploded"}]}';
      res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (url.startsWith('/v2/evil/') && req.method === 'POST') {
      res.writeHead(202, { location: 'http://uploads.evil.example:5000/v2/evil/app/blobs/uploads/abc?_state=x', 'content-length': 0 });
      res.end();
      return;
    }
    if (url.startsWith('/v2/link/')) {
      const body = '{"name":"link/app","tags":["a"]}';
      const self = `http://${req.headers.host}/v2/link/app/tags/list?last=a&n=1`;
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': body.length,
        link: `<${self}>; rel="next", <https://elsewhere.example/v2/x>; rel="other"`,
      });
      res.end(body);
      return;
    }
    if (url.startsWith('/v2/ok/') && req.method === 'HEAD') {
      res.writeHead(404, { 'content-length': 0 });
      res.end();
      return;
    }
    if (url.startsWith('/v2/ok/') && req.method === 'PUT') {
      req.on('end', () => {
        res.writeHead(201, { location: `${url.split('?')[0]}`, 'content-length': 0 });
        res.end();
      });
      return;
    }
    res.writeHead(404, { 'content-length': 0 });
    res.end();
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    get connections() {
      return connections;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
