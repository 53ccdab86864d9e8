import { ProxyError } from '../../errors.js';
import type { AdapterRequest } from '../types.js';

export type GitService = 'git-upload-pack' | 'git-receive-pack';

/** A smart-HTTP request: which repository, which service, advertisement or RPC. */
export interface GitRoute {
  /** Repository path as sent (percent-encoded), e.g. `/acme/app.git`: forwarded as is. */
  readonly rawRepo: string;
  /** The same, decoded: what policy and audit see. */
  readonly repo: string;
  readonly service: GitService;
  /** `advertise` = GET info/refs; `rpc` = POST to the service. */
  readonly phase: 'advertise' | 'rpc';
  /** Wire protocol version the client asked for (Git-Protocol header); 0 when none. */
  readonly protocol: number;
}

const SERVICES = new Set<string>(['git-upload-pack', 'git-receive-pack']);

function strip(path: string, suffix: string): string | undefined {
  return path.endsWith(suffix) && path.length > suffix.length ? path.slice(0, -suffix.length) : undefined;
}

/**
 * Routes the smart HTTP protocol only. The dumb protocol (plain GETs of
 * objects/ and HEAD) is refused: it would bypass the advertisement and
 * upload-pack classification.
 */
export function routeOf(req: AdapterRequest): GitRoute {
  const header = req.headers['git-protocol'];
  const m = /(?:^|:)version=(\d)(?::|$)/.exec(Array.isArray(header) ? header.join(':') : (header ?? ''));
  const protocol = m ? Number(m[1]) : 0;
  const adv = strip(req.rawPath, '/info/refs');
  if (adv !== undefined) {
    const service = req.query.service;
    if (typeof service !== 'string' || !SERVICES.has(service)) {
      throw new ProxyError('ERR_NOT_FOUND', 'only the smart HTTP protocol is served: info/refs needs ?service=git-upload-pack or git-receive-pack');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new ProxyError('ERR_METHOD_NOT_ALLOWED', 'info/refs answers GET only');
    return { rawRepo: adv, repo: strip(req.path, '/info/refs') ?? adv, service: service as GitService, phase: 'advertise', protocol };
  }
  for (const service of SERVICES) {
    const rpc = strip(req.rawPath, `/${service}`);
    if (rpc === undefined) continue;
    if (req.method !== 'POST') throw new ProxyError('ERR_METHOD_NOT_ALLOWED', `${service} answers POST only`);
    return { rawRepo: rpc, repo: strip(req.path, `/${service}`) ?? rpc, service: service as GitService, phase: 'rpc', protocol };
  }
  throw new ProxyError('ERR_NOT_FOUND', 'not a smart HTTP git request (info/refs, git-upload-pack or git-receive-pack)');
}
