import { request as httpRequest, type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';

/**
 * One pause the delaying proxy applies. `before-request`: the request is
 * held (unsent) for `ms`; `before-response`: the request goes to the target
 * at once, and its response (head and body) is held for `ms`, so the target
 * has already acted when the pause starts.
 */
export interface DelayRule {
  /** Only requests with this method (any when unset). */
  method?: string;
  /** Only requests whose path and query match. */
  path: RegExp;
  when: 'before-request' | 'before-response';
  ms: number;
  /** How many matching requests are delayed (default: every one). */
  times?: number;
}

/** What the proxy saw of one request. */
export interface DelayedRequest {
  method: string;
  path: string;
  /** Milliseconds this request was held (0 when no rule matched). */
  delayedMs: number;
  /** True when the client went away before the response ended. */
  clientGone: boolean;
}

/** A small HTTP proxy in front of a test server that goes silent on demand. */
export interface DelayProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every request, in arrival order. */
  readonly requests: DelayedRequest[];
  /** Replaces the pauses; `[]` turns them off. */
  setRules(rules: DelayRule[]): void;
  stop(): Promise<void>;
}

/**
 * Starts a loopback proxy that forwards everything to `target` (bodies
 * streamed both ways, headers as sent) and pauses matching requests, so
 * tests can stand in for an upstream that is slow but alive.
 */
export async function startDelayProxy(target: string): Promise<DelayProxy> {
  const base = new URL(target);
  let rules: Array<DelayRule & { used: number }> = [];
  const requests: DelayedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const pick = (req: IncomingMessage): (DelayRule & { used: number }) | undefined => {
    const rule = rules.find((r) => (!r.method || r.method === req.method) && r.path.test(req.url ?? '') && (r.times === undefined || r.used < r.times));
    if (rule) rule.used++;
    return rule;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const seen: DelayedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', delayedMs: 0, clientGone: false };
    requests.push(seen);
    res.once('close', () => {
      if (!res.writableFinished) seen.clientGone = true;
    });
    const rule = pick(req);
    if (rule) seen.delayedMs = rule.ms;
    if (rule?.when === 'before-request') await sleep(rule.ms);
    if (seen.clientGone || res.destroyed) {
      req.destroy();
      return;
    }
    const upstream = httpRequest({ host: base.hostname, port: base.port, method: req.method, path: req.url, headers: req.headers });
    upstream.on('response', (answer) => {
      const relay = (): void => {
        if (res.destroyed) {
          answer.destroy();
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      };
      if (rule?.when === 'before-response') {
        // Read nothing meanwhile: the target's bytes wait in the socket, as behind a stalled network.
        answer.pause();
        void sleep(rule.ms).then(relay);
      } else {
        relay();
      }
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setRules(next) {
      rules = next.map((r) => ({ ...r, used: 0 }));
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
