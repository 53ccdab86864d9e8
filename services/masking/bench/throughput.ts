/**
 * Throughput of the masking service over a real nats-server: events/s from
 * AUDIT_RAW to AUDIT_CLEAN, beside a plain republish (the same loop: read-ahead
 * fetch, groups of `maxInFlight` publishes issued in one tick, ack without
 * waiting, no masking) in the same run, and the masking engine alone on the
 * same events; with the CPU time of this process per event for each (the
 * nats-server is another process).
 *
 * It runs the BUILT code (the package's dist and its dependencies' dist, this
 * file compiled by tsconfig.bench.json), as production does: under tsx the
 * engine alone is ~2.7x slower.
 *
 *   npm run bench -w @agentgate/masking-service [-- --events 20000 --batch 100 --inflight 32]
 */
import { randomInt } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { type Bus, PrefetchingReader, type StreamMsg, createBus } from '@agentgate/bus';
import { configSchema, type Config } from '@agentgate/config';
import { type AuditEvent, buildActionEvent, decodeEvent, encodeEvent, newEventId, rawSubject } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { createMasker } from '@agentgate/masking';
import { startSecretBroker } from '@agentgate/secret-broker';
import { startNats } from '@agentgate/testkit';
import { pathToFileURL } from 'node:url';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '100' },
    inflight: { type: 'string', default: '32' },
    // Another build of the service to compare with (its dist/index.js), e.g. one built from an older commit.
    service: { type: 'string' },
  },
});
const { ensureAuditStreams, startMaskingService } = (await import(
  values.service === undefined ? '@agentgate/masking-service' : pathToFileURL(values.service).href
)) as typeof import('@agentgate/masking-service');
const N = Number(values.events);
const BATCH = Number(values.batch);
const IN_FLIGHT = Number(values.inflight);
const SECRET = `bench_${'x'.repeat(4)}${randomInt(1e9)}_S3cr3t+/=`;
const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ghToken = (): string => `ghp_${Array.from({ length: 36 }, () => abc[randomInt(abc.length)]).join('')}`;

function corpus(n: number): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    const leak = i % 50 === 0 ? ` token=${SECRET}` : i % 100 === 1 ? ` found ${ghToken()}` : '';
    out.push(
      buildActionEvent({
        phase: 'completed',
        principal: {
          issuer: 'https://ci.example',
          subject: 'repo:acme/app',
          groups: ['acme'],
          claims: {},
          ci: { provider: 'github-actions', repository: 'acme/app', run: String(i % 7) },
          sessionId: `acme/app#${i % 7}`,
          expiresAt: 2e9,
        },
        action: {
          id: newEventId(),
          kind: 'http.request',
          connection: 'github',
          attributes: {
            path: `/repos/acme/app/issues/${i}`,
            query: 'state=open&per_page=100',
            note: `step ${i}: the agent listed issues and pull requests for triage${leak}`,
          },
        },
        url: { full: `https://api.github.com/repos/acme/app/issues/${i}?state=open` },
        http: { request: { method: 'GET', bytes: 0 }, response: { status_code: 200, bytes: 18_000 + i } },
        userAgent: 'agent/1.0 (ci)',
      }),
    );
  }
  return out;
}

/** CPU time (user + system) of this process since `from`, in µs. */
function cpuUs(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return d.user + d.system;
}

/** Publishes in groups of `group`, each group issued in one tick and awaited before the next. */
async function publishAll(bus: Bus, msgs: Array<{ subject: string; data: Uint8Array; id: string }>, group: number): Promise<void> {
  for (let i = 0; i < msgs.length; i += group) {
    await Promise.all(msgs.slice(i, i + group).map((m) => bus.streams.publish(m.subject, m.data, { msgId: m.id })));
  }
}

/** The service's loop without masking: read-ahead batches, groups of `inFlight` publishes issued at once, then acks without waiting. */
async function plainRepublish(bus: Bus, n: number): Promise<void> {
  const c = await bus.streams.consumer('BENCH_IN', { durable: 'plain', maxAckPending: Math.max(1000, BATCH * 4) });
  const reader = new PrefetchingReader(c, { batch: BATCH, expiresMs: 1000 });
  let done = 0;
  while (done < n) {
    const msgs = await reader.next();
    for (let i = 0; i < msgs.length; i += IN_FLIGHT) {
      const group: StreamMsg[] = msgs.slice(i, i + IN_FLIGHT);
      await Promise.all(group.map((m) => bus.streams.publish(`bench.out.${m.subject.slice(9)}`, m.data, m.msgId === undefined ? {} : { msgId: m.msgId })));
      for (const m of group) m.ackNoWait?.();
      done += group.length;
    }
  }
  await reader.close();
}

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString('en-US')} events/s`;
}

const nats = await startNats();
const bus = await createBus({ natsUrl: nats.url, name: 'bench-masking' });
const brokerBus = await createBus({ natsUrl: nats.url, name: 'bench-broker' });
try {
  const config = configSchema.parse({
    connections: [{ name: 'github', type: 'http', upstream: 'https://api.github.com', credential: { ref: 'gh', inject: 'bearer' } }],
    secrets: [{ ref: 'gh', source: 'env', env: 'GH_TOKEN' }],
    masking: { service: { batch: BATCH, maxInFlight: IN_FLIGHT } },
  }) as Config;
  const events = corpus(N);
  const encoded = events.map((e) => ({ subject: rawSubject(e), data: encodeEvent(e), id: e.event.id }));
  const bytes = encoded.reduce((s, e) => s + e.data.byteLength, 0);

  // Engine only, same events, same process.
  const masker = createMasker({ secrets: [{ ref: 'gh', value: SECRET }] });
  let t = performance.now();
  let cpu = process.cpuUsage();
  for (const e of events) masker.maskJson(e);
  const engineMs = performance.now() - t;
  const engineCpu = cpuUs(cpu);
  // The service's other per-event stages, alone on the same events: decode + validate, and encode (after a warm-up,
  // as the service has by the time it has masked a few batches).
  for (const e of encoded.slice(0, 2000)) encodeEvent(decodeEvent(e.data));
  cpu = process.cpuUsage();
  for (const e of encoded) decodeEvent(e.data);
  const decodeCpu = cpuUs(cpu);
  cpu = process.cpuUsage();
  for (const e of events) encodeEvent(e);
  const encodeCpu = cpuUs(cpu);

  // Baseline: plain republish with the same loop shape.
  await bus.streams.ensure({ name: 'BENCH_IN', subjects: ['bench.in.>'] });
  await bus.streams.ensure({ name: 'BENCH_OUT', subjects: ['bench.out.>'] });
  await publishAll(
    bus,
    encoded.map((e) => ({ ...e, subject: `bench.in.${e.subject.slice(10)}` })),
    256,
  );
  t = performance.now();
  cpu = process.cpuUsage();
  await plainRepublish(bus, N);
  const plainMs = performance.now() - t;
  const plainCpu = cpuUs(cpu);

  // The service: raw events stored first, then timed from start until every event is clean and acked.
  const broker = await startSecretBroker(brokerBus, config, undefined, { env: { GH_TOKEN: SECRET } });
  await ensureAuditStreams(bus, config.bus.streams);
  await publishAll(bus, encoded, 256);
  t = performance.now();
  cpu = process.cpuUsage();
  const svc = await startMaskingService(bus, config, createLogger({ name: 'bench', level: 'warn' }));
  while (svc.stats().clean + svc.stats().deadLettered < N) await new Promise((r) => setTimeout(r, 5));
  const svcMs = performance.now() - t;
  const svcCpu = cpuUs(cpu);
  const stats = svc.stats();
  await svc.stop();
  await broker.stop();
  const clean = await bus.streams.info('AUDIT_CLEAN');

  console.log(
    `masking service${values.service === undefined ? '' : ` (${values.service})`} throughput, nats-server on loopback, ${N} events (${(bytes / N).toFixed(0)} B avg), batch ${BATCH}, ${IN_FLIGHT} publishes in flight`,
  );
  console.log(
    `  machine: ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} (shared: other runs skew every figure alike)`,
  );
  const per = (us: number): string => `${(us / N).toFixed(0)} µs CPU/event`;
  console.log(`  engine only (maskJson, in process) : ${rate(N, engineMs)}  (${engineMs.toFixed(0)} ms, ${per(engineCpu)})`);
  console.log(`  plain republish (no masking)       : ${rate(N, plainMs)}  (${plainMs.toFixed(0)} ms, ${per(plainCpu)})`);
  console.log(`  masking service raw -> clean       : ${rate(N, svcMs)}  (${svcMs.toFixed(0)} ms incl. start-up, ${per(svcCpu)})`);
  console.log(`  service / plain                    : ${(plainMs / svcMs).toFixed(2)}x   service / engine: ${(engineMs / svcMs).toFixed(2)}x`);
  const us = (v: number): string => (v / N).toFixed(0);
  console.log(
    `  service CPU per event, by stage    : engine ${us(engineCpu)} + decode/validate ${us(decodeCpu)} + encode ${us(encodeCpu)} + bus and the rest ${us(svcCpu - engineCpu - decodeCpu - encodeCpu)} = ${us(svcCpu)} µs (plain republish: ${us(plainCpu)} µs)`,
  );
  console.log(
    `  clean stream: ${clean.messages} messages (${stats.clean} events + ${stats.exposures} exposure events), dead-lettered ${stats.deadLettered}, retried ${stats.retried}`,
  );
} finally {
  await brokerBus.drain();
  await bus.drain();
  await nats.close();
}
