import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { TestkitError } from './errors.js';
import { selfSignedCertArgs } from './lib/openssl.js';
import { requireBinary } from './require-binary.js';
import { tempDir } from './temp-dir.js';

/** A TLS-terminating front (a load balancer's part) on loopback, before a plain-HTTP server. */
export interface TlsFront {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** `127.0.0.1:<port>` */
  readonly host: string;
  /** PEM of the test CA that signed the front's certificate: clients trust it (SSL_CERT_FILE, GIT_SSL_CAINFO, NODE_EXTRA_CA_CERTS). */
  readonly caFile: string;
  /** Requests relayed so far. */
  readonly requests: number;
  close(): Promise<void>;
}

/**
 * Starts an HTTPS front on a free loopback port relaying every request,
 * streamed both ways, to `target` (path and headers unchanged): clients that
 * insist on https (gh for an enterprise host, docker for a non-local
 * registry) reach a plain-HTTP test server as they would reach production.
 * The certificate (IP 127.0.0.1, DNS localhost) is signed by a fresh test CA
 * made with openssl.
 */
export async function startTlsFront(target: string): Promise<TlsFront> {
  const openssl = requireBinary('openssl', 'apt-get install -y openssl');
  const dir = tempDir('tls-front');
  const f = (n: string) => join(dir.path, n);
  try {
    const run = (args: string[]) => execFileSync(openssl, args, { stdio: 'ignore' });
    run(selfSignedCertArgs('/CN=agentgate test CA', f('ca.key'), f('ca.pem')));
    run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('key.pem'), '-out', f('req.csr')]);
    writeFileSync(
      f('ext.cnf'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n',
    );
    run([
      'x509',
      '-req',
      '-in',
      f('req.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f('ext.cnf'),
      '-out',
      f('cert.pem'),
    ]);
  } catch (cause) {
    dir.cleanup();
    throw new TestkitError('ERR_START_FAILED', 'openssl could not create the TLS front certificate', { cause });
  }
  const upstream = new URL(target);
  let requests = 0;
  const server: Server = createServer({ key: readFileSync(f('key.pem')), cert: readFileSync(f('cert.pem')) }, (req, res) => {
    requests += 1;
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      pipeline(up, res, () => {});
    });
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    pipeline(req, out, () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    caFile: f('ca.pem'),
    get requests() {
      return requests;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      dir.cleanup();
    },
  };
}
