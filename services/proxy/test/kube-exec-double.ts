import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * A test double of the API server's exec/attach endpoint, since no kubelet
 * runs here: it serves `GET …/pods/<name>` (kubectl checks the pod first)
 * and WebSocket upgrades on `…/pods/<name>/exec|attach` speaking the
 * Kubernetes channel protocol (`v5.channel.k8s.io`: one channel byte, then
 * data; 0 stdin, 1 stdout, 2 stderr, 3 error/status, 255 close). The
 * "container" prints the command it was given, echoes stdin, prints the
 * Authorization it received when the command is `print-credential` (a pod
 * that can read the cluster credential), and ends with a v1 Status on
 * channel 3 (exit code 3 for the command `fail`).
 */
export interface ExecDouble {
  readonly url: string;
  /** What the double saw of each request (never the Authorization value). */
  readonly seen: Array<{ method: string; url: string; upgrade: boolean; protocol?: string; impersonate: string[]; authorized: boolean; extensions?: string }>;
  close(): Promise<void>;
}

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

// Just enough legacy discovery for kubectl to map "pods" (it falls back from aggregated discovery on a plain JSON answer).
const DISCOVERY: Record<string, object> = {
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] },
  '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'], shortNames: ['po'] },
      { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'pods/attach', singularName: '', namespaced: true, kind: 'PodAttachOptions', verbs: ['create', 'get'] },
    ],
  },
};

function pod(ns: string, name: string): object {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name, namespace: ns, uid: '6f1c2c4e-0000-4000-8000-000000000001', resourceVersion: '1' },
    spec: { containers: [{ name: 'main', image: 'busybox' }], nodeName: 'double' },
    status: { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, restartCount: 0, image: 'busybox', imageID: '', state: { running: {} } }] },
  };
}

export async function startExecDouble(expectedAuth: string): Promise<ExecDouble> {
  const seen: ExecDouble['seen'] = [];
  const record = (req: IncomingMessage, upgrade: boolean): boolean => {
    const authorized = req.headers.authorization === expectedAuth;
    const impersonate = Object.entries(req.headers)
      .filter(([k]) => k.startsWith('impersonate-'))
      .map(([k, v]) => `${k}=${String(v)}`);
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      upgrade,
      impersonate,
      authorized,
      ...(req.headers['sec-websocket-protocol'] !== undefined && { protocol: String(req.headers['sec-websocket-protocol']) }),
      ...(req.headers['sec-websocket-extensions'] !== undefined && { extensions: String(req.headers['sec-websocket-extensions']) }),
    });
    return authorized;
  };
  const server: Server = createServer((req, res) => {
    const authorized = record(req, false);
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/?]+)(\?.*)?$/.exec(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    if (!authorized) {
      res.writeHead(401).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 }));
      return;
    }
    const path = (req.url ?? '').split('?')[0];
    const discovery = DISCOVERY[path ?? ''];
    if (req.method === 'GET' && discovery) {
      res.writeHead(200).end(JSON.stringify(discovery));
      return;
    }
    if (req.method === 'GET' && m?.[1] && m[2]) {
      res.writeHead(200).end(JSON.stringify(pod(m[1], m[2])));
      return;
    }
    res.writeHead(404).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' }));
  });
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  server.on('upgrade', (req, socket, head) => {
    const authorized = record(req, true);
    if (!authorized || !/\/pods\/[^/]+\/(exec|attach)\?/.test(req.url ?? '')) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => session(ws, req, expectedAuth));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function session(ws: WebSocket, req: IncomingMessage, auth: string): void {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  const command = q.getAll('command');
  const stdin = q.get('stdin') === 'true' || q.get('stdin') === '1';
  const send = (channel: number, text: string): void => ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(text)]));
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    const status =
      command[0] === 'fail'
        ? {
            metadata: {},
            status: 'Failure',
            message: 'command terminated with non-zero exit code: exit status 3',
            reason: 'NonZeroExitCode',
            details: { causes: [{ reason: 'ExitCode', message: '3' }] },
          }
        : { metadata: {}, status: 'Success' };
    send(3, JSON.stringify(status));
    setTimeout(() => ws.close(1000), 20);
  };
  send(1, `ran: ${command.join(' ')}\n`);
  if (command[0] === 'print-credential') {
    // Split across two messages: the gateway must mask a credential straddling message boundaries.
    const line = `credential=${auth.replace(/^Bearer /, '')}\n`;
    const cut = Math.floor(line.length / 2);
    send(1, line.slice(0, cut));
    send(1, line.slice(cut));
  }
  if (command[0] === 'stderr') send(2, 'to stderr\n');
  ws.on('message', (data: Buffer) => {
    const channel = data[0];
    if (channel === 0) send(1, `echo:${data.subarray(1).toString()}`);
    if (channel === 255 && data[1] === 0) finish();
  });
  if (!stdin) setTimeout(finish, 50);
}
