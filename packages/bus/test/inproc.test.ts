import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { type Bus, InprocBus } from '../src/index.js';
import { conformance } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'agentgate-bus-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// In-process there is one bus per process: every "client" is that same bus.
let shared = new InprocBus({ dataDir: dir });
// Each test drains its client; for the shared in-process bus a client's drain is a no-op.
const handle = (b: InprocBus): Bus => ({
  transport: b.transport,
  streams: b.streams,
  publish: (s, d, o) => b.publish(s, d, o),
  subscribe: (s, h, o) => b.subscribe(s, h, o),
  requestRaw: (s, d, o) => b.requestRaw(s, d, o),
  request: (s, d, o) => b.request(s, d, o),
  addService: (i) => b.addService(i),
  kv: (n, o) => b.kv(n, o),
  status: () => b.status(),
  onStatus: (cb) => b.onStatus(cb),
  flush: () => b.flush(),
  drain: async () => {},
  close: async () => {},
});

conformance('in-process', {
  bus: async () => handle(shared),
  outage: async () => {
    await shared.drain();
    return async () => {
      shared = new InprocBus({ dataDir: dir });
      return handle(shared);
    };
  },
  restart: async () => {
    await shared.drain();
    shared = new InprocBus({ dataDir: dir });
    return handle(shared);
  },
  childEnv: () => ({ NATS_URL: '' }),
});
