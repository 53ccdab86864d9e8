import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Principal } from '@agentgate/events';
import { ProxyError } from '../../errors.js';
import type { Lease } from '../../lib/ports.js';
import type { Connection, UpstreamTls } from '../types.js';
import { type KubeOptions, kubeOptions } from './options.js';

/** CA bundles read at start-up (checkConnection), by connection name. */
const caBundles = new Map<string, { pem: Buffer; hash: string }>();

/**
 * Reads and checks the connection's CA bundle once, at start-up: a missing
 * or non-PEM file stops the gateway naming the connection, rather than
 * failing every request later.
 */
export function loadCa(connection: Connection): void {
  const opts = kubeOptions(connection);
  if (opts.caFile === undefined) return;
  let pem: Buffer;
  try {
    pem = readFileSync(opts.caFile);
  } catch (cause) {
    throw new Error(`connection "${connection.name}": options.caFile cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`connection "${connection.name}": options.caFile holds no PEM certificate`);
  caBundles.set(connection.name, { pem, hash: createHash('sha256').update(pem).digest('hex').slice(0, 16) });
}

/** The PEM blocks of a client-certificate credential: the certificate chain and the private key. */
function splitPem(value: string, connection: string): { cert: string; key: string } {
  const blocks = value.match(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g) ?? [];
  const cert = blocks.filter((b) => b.startsWith('-----BEGIN CERTIFICATE-----')).join('\n');
  const key = blocks.find((b) => /^-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(b));
  if (!cert || !key) {
    throw new ProxyError(
      'ERR_CREDENTIAL_UNAVAILABLE',
      `the client certificate of connection "${connection}" must be a PEM bundle with a certificate and its private key`,
    );
  }
  return { cert, key };
}

// Hashing the credential for the pool key once per lease value, not per request.
let lastKey: { value: string; hash: string } | undefined;
function valueHash(value: string): string {
  if (lastKey?.value !== value) lastKey = { value, hash: createHash('sha256').update(value).digest('hex').slice(0, 16) };
  return lastKey.hash;
}

/**
 * TLS of the upstream connection: the API server's certificate must chain
 * to the connection's CA bundle (the system CAs when none is configured;
 * never unverified), and a `client-certificate` credential is presented in
 * the handshake. Plain-http upstreams (tests, a local proxy) get none.
 */
export function upstreamTls(connection: Connection, lease: Lease | undefined): UpstreamTls | undefined {
  if (!connection.upstream.startsWith('https:')) return undefined;
  const opts = kubeOptions(connection);
  if (opts.caFile !== undefined && !caBundles.has(connection.name)) loadCa(connection);
  const bundle = caBundles.get(connection.name);
  const client = lease?.inject.type === 'client-certificate' ? splitPem(lease.value, connection.name) : undefined;
  return {
    key: `${bundle?.hash ?? 'system'}:${client && lease ? valueHash(lease.value) : 'none'}`,
    ...(bundle && { ca: bundle.pem }),
    ...(client && { cert: client.cert, privateKey: client.key }),
    ...(opts.tlsServerName !== undefined && { servername: opts.tlsServerName }),
  };
}

// A value that could end the header line or add one (header injection) is never sent.
const HEADER_SAFE = /^[\x20-\x7e\u0080-\uffff]{1,1024}$/;

/** The user and groups the upstream request impersonates, or undefined when impersonation is off. */
export function impersonation(opts: KubeOptions, principal: Principal): { user: string; groups: string[] } | undefined {
  const imp = opts.impersonate;
  if (!imp.enabled) return undefined;
  const who = imp.user === 'actor' ? (principal.ci.actor ?? principal.subject) : principal.subject;
  const user = `${imp.userPrefix}${who}`;
  const groups = [...(imp.groups ? principal.groups.map((g) => `${imp.groupPrefix}${g}`) : []), ...imp.extraGroups];
  if (!HEADER_SAFE.test(user) || groups.some((g) => !HEADER_SAFE.test(g))) {
    throw new ProxyError('ERR_BAD_REQUEST', 'the principal cannot be impersonated: its name holds characters a header cannot carry');
  }
  return { user, groups };
}

/**
 * Sets the upstream identity headers. Every `Impersonate-*` header the
 * client sent is removed whatever impersonation says: with the gateway's
 * credential (which may impersonate), a client header would let the agent
 * act as anyone, cluster-admin included.
 */
export function setIdentityHeaders(headers: Record<string, string | string[]>, who: { user: string; groups: string[] } | undefined): void {
  for (const name of Object.keys(headers)) if (name.toLowerCase().startsWith('impersonate-')) delete headers[name];
  if (!who) return;
  headers['impersonate-user'] = who.user;
  if (who.groups.length > 0) headers['impersonate-group'] = who.groups;
}

const PROTOBUF = /^application\/(vnd\.kubernetes\.protobuf|cbor)$/i;

/**
 * Asks the upstream for JSON: an Accept that lists protobuf or CBOR gets
 * each such media type replaced by `application/json` with the same
 * parameters (`as=Table;g=meta.k8s.io;v=v1` stays; `stream=watch` goes,
 * JSON watches are framed by newlines), so a response the gateway must mask
 * can be parsed.
 */
export function preferJson(headers: Record<string, string | string[]>): void {
  const accept = headers['accept'];
  if (accept === undefined) return;
  const ranges = (Array.isArray(accept) ? accept.join(',') : accept)
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const out: string[] = [];
  for (const range of ranges) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim());
    const rewritten = PROTOBUF.test(type) ? ['application/json', ...params.filter((p) => !/^stream=/i.test(p))].join(';') : range;
    if (!out.includes(rewritten)) out.push(rewritten);
  }
  headers['accept'] = out.join(', ');
}
