/**
 * Throughput of the masking service over a real nats-server: events/s from
 * AUDIT_RAW to AUDIT_CLEAN, beside a plain republish (the same loop: batches
 * read as they arrive, groups of `maxInFlight` publishes issued in one tick, ack
 * without waiting, no masking) in the same run, and the masking engine alone on
 * the same events; with the CPU time of this process per event for each (the
 * nats-server is another process).
 *
 * Two modes:
 * - saturated (default): the events are stored first, then consumed as fast as
 *   the loop goes (peak events/s and CPU per event at full batches);
 * - `--rate R`: a child process (bench/feeder.ts) publishes R events/s while the
 *   consumer runs, so batches are as small as a moderate steady load makes them;
 *   CPU per event is then what that load costs (idle waits included).
 *
 * It runs the BUILT code (the package's dist and its dependencies' dist, this
 * file compiled by tsconfig.bench.json), as production does: under tsx the
 * engine alone is ~2.7x slower.
 *
 *   npm run bench -w @agentgate/masking-service [-- --events 20000 --batch 200 --inflight 64]
 *   npm run bench -w @agentgate/masking-service -- --rate 800 --events 16000
 *   ... --only service,plain        (skip the others)
 *   ... --cpu-prof /tmp/prof         (V8 CPU profile of each timed run only: /tmp/prof/service.cpuprofile, plain.cpuprofile)
 *   ... --service <another build's dist/index.js>   (before/after in one harness)
 */
import { fork } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Bus, type StreamMsg, createBus, openReader } from '@agentgate/bus';
import { type Config, configSchema, maskingServiceSchema } from '@agentgate/config';
import { decodeEvent, encodeEvent, rawSubject } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { createMasker } from '@agentgate/masking';
import { startSecretBroker } from '@agentgate/secret-broker';
import { startNats } from '@agentgate/testkit';
import { corpus } from './corpus.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '200' },
    inflight: { type: 'string', default: '64' },
    // masking.service.lingerMs (default: the config's), also used by the plain republish.
    linger: { type: 'string' },
    // Events per second published by a child process while the consumers run (default: stored beforehand).
    rate: { type: 'string' },
    // Comma-separated subset of engine,plain,service.
    only: { type: 'string', default: 'engine,plain,service' },
    // Another build of the service to compare with (its dist/index.js), e.g. one built from an older commit.
    service: { type: 'string' },
    // Directory: a V8 CPU profile of each timed run only (`<name>.cpuprofile`; not the set-up, not the stored events' publishing).
    'cpu-prof': { type: 'string' },
  },
});
const { ensureAuditStreams, startMaskingService } = (await import(
  values.service === undefined ? '@agentgate/masking-service' : pathToFileURL(values.service).href
)) as typeof import('@agentgate/masking-service');
const N = Number(values.events);
const BATCH = Number(values.batch);
const IN_FLIGHT = Number(values.inflight);
const LINGER = values.linger === undefined ? undefined : Number(values.linger);
const RATE = values.rate === undefined ? undefined : Number(values.rate);
const ONLY = new Set(values.only.split(','));
const SECRET = `bench_${'x'.repeat(4)}${randomInt(1e9)}_S3cr3t+/=`;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');

/** CPU time (user + system) of this process since `from`, in µs; `sys` gets the system part. */
function cpuUs(from: NodeJS.CpuUsage, sys?: { us: number }): number {
  const d = process.cpuUsage(from);
  if (sys) sys.us = d.system;
  return d.user + d.system;
}

/** Runs `run` under V8's CPU profiler when `--cpu-prof <dir>` is given, writing `<dir>/<name>.cpuprofile`. */
async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  const dir = values['cpu-prof'];
  if (dir === undefined) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
  }
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
  const reader = openReader(c, { batch: BATCH, expiresMs: 1000, lingerMs: LINGER ?? maskingServiceSchema.parse({}).lingerMs });
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

/**
 * Feeds `n` raw events at `rate` events/s from a child process; resolves once it is connected and
 * ready, with `go()` to start it (the caller snapshots its CPU first) and `done` (all stored).
 */
async function feeder(natsUrl: string, rate: number, n: number, subjectPrefix?: string): Promise<{ go: () => void; done: Promise<number> }> {
  const child = fork(join(dirname(fileURLToPath(import.meta.url)), 'feeder.js'), { stdio: 'inherit' });
  let ready!: () => void;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  const done = new Promise<number>((resolve, reject) => {
    child.on('message', (m: { ready?: true; published?: number }) => {
      if (m.ready) ready();
      if (m.published !== undefined) resolve(m.published);
    });
    child.once('exit', (code) => reject(new Error(`feeder exited with ${code}`)));
  });
  done.catch(() => {});
  child.send({ natsUrl, rate, n, secret: SECRET, ...(subjectPrefix !== undefined && { subjectPrefix }) });
  await Promise.race([isReady, done]);
  return { go: () => child.send({ go: true }), done };
}

const nats = await startNats();
const bus = await createBus({ natsUrl: nats.url, name: 'bench-masking' });
const brokerBus = await createBus({ natsUrl: nats.url, name: 'bench-broker' });
const loadBefore = load();
try {
  const config = configSchema.parse({
    connections: [{ name: 'github', type: 'http', upstream: 'https://api.github.com', credential: { ref: 'gh', inject: 'bearer' } }],
    secrets: [{ ref: 'gh', source: 'env', env: 'GH_TOKEN' }],
    masking: { service: { batch: BATCH, maxInFlight: IN_FLIGHT } },
  }) as Config;
  // The service reads its section through its own schema: give it the input, so a build of another version
  // (--service), whose schema may lack keys added since, gets its own defaults.
  (config.masking as { service: unknown }).service = { batch: BATCH, maxInFlight: IN_FLIGHT, ...(LINGER !== undefined && { lingerMs: LINGER }) };
  const events = corpus(N, SECRET);
  const encoded = events.map((e) => ({ subject: rawSubject(e), data: encodeEvent(e), id: e.event.id }));
  const bytes = encoded.reduce((s, e) => s + e.data.byteLength, 0);
  const lines: string[] = [];
  const per = (us: number, sys?: number): string => `${(us / N).toFixed(0)} µs CPU/event${sys === undefined ? '' : ` of which ${(sys / N).toFixed(0)} system`}`;
  const us = (v: number): string => (v / N).toFixed(0);

  let stages: { engine: number; decode: number; encode: number } | undefined;
  if (ONLY.has('engine')) {
    // Engine only, same events, same process.
    const masker = createMasker({ secrets: [{ ref: 'gh', value: SECRET }] });
    const t = performance.now();
    let cpu = process.cpuUsage();
    // As the service masks: unchanged objects shared, not copied.
    for (const e of events) masker.maskJson(e, { share: true });
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
    lines.push(`  engine only (maskJson, in process) : ${rate(N, engineMs)}  (${engineMs.toFixed(0)} ms, ${per(engineCpu)})`);
    lines.push(`  decode + validate ${us(decodeCpu)} µs/event, encode ${us(encodeCpu)} µs/event (alone, in process)`);
    stages = { engine: engineCpu, decode: decodeCpu, encode: encodeCpu };
  }

  const timed = async (name: string, run: () => Promise<void>, subjectPrefix?: string): Promise<{ ms: number; cpu: number; sys: number }> => {
    const sys = { us: 0 };
    if (RATE === undefined) {
      const t = performance.now();
      const cpu = process.cpuUsage();
      await profiled(name, run);
      return { ms: performance.now() - t, cpu: cpuUs(cpu, sys), sys: sys.us };
    }
    const feed = await feeder(nats.url, RATE, N, subjectPrefix);
    const t = performance.now();
    const cpu = process.cpuUsage();
    feed.go();
    await profiled(name, () => Promise.all([run(), feed.done]));
    const r = { ms: performance.now() - t, cpu: cpuUs(cpu, sys), sys: sys.us };
    if ((await feed.done) !== N) throw new Error(`${name}: the feeder published ${await feed.done} of ${N}`);
    return r;
  };

  let plain: { ms: number; cpu: number; sys: number } | undefined;
  if (ONLY.has('plain')) {
    // Baseline: plain republish with the same loop shape.
    await bus.streams.ensure({ name: 'BENCH_IN', subjects: ['bench.in.>'] });
    await bus.streams.ensure({ name: 'BENCH_OUT', subjects: ['bench.out.>'] });
    if (RATE === undefined)
      await publishAll(
        bus,
        encoded.map((e) => ({ ...e, subject: `bench.in.${e.subject.slice(10)}` })),
        256,
      );
    plain = await timed('plain', () => plainRepublish(bus, N), 'bench.in');
    lines.push(`  plain republish (no masking)       : ${rate(N, plain.ms)}  (${plain.ms.toFixed(0)} ms, ${per(plain.cpu, plain.sys)})`);
  }

  if (ONLY.has('service')) {
    // The service: saturated, raw events stored first, then timed from start until every event is clean and acked;
    // at a rate, started first and timed from the first event fed.
    const broker = await startSecretBroker(brokerBus, config, undefined, { env: { GH_TOKEN: SECRET } });
    await ensureAuditStreams(bus, config.bus.streams);
    if (RATE === undefined) await publishAll(bus, encoded, 256);
    let svc: Awaited<ReturnType<typeof startMaskingService>> | undefined;
    const start = () => startMaskingService(bus, config, createLogger({ name: 'bench', level: 'warn' }));
    if (RATE !== undefined) svc = await start();
    const r = await timed('service', async () => {
      svc ??= await start();
      while (svc.stats().clean + svc.stats().deadLettered < N) await new Promise((r) => setTimeout(r, RATE === undefined ? 5 : 50));
    });
    const stats = svc!.stats();
    await svc!.stop();
    await broker.stop();
    const clean = await bus.streams.info('AUDIT_CLEAN');
    lines.push(
      `  masking service raw -> clean       : ${rate(N, r.ms)}  (${r.ms.toFixed(0)} ms${RATE === undefined ? ' incl. start-up' : ''}, ${per(r.cpu, r.sys)})`,
    );
    if (plain) lines.push(`  service / plain                    : ${(plain.ms / r.ms).toFixed(2)}x (time), CPU per event ${us(r.cpu)} vs ${us(plain.cpu)} µs`);
    if (plain && stages) {
      // Where the service's CPU per event goes, from the stages measured alone: what is left is the encode of changed
      // events or the canonical check of unchanged ones, exposure events, GC, spans/metrics and the loop itself.
      // Encode is not subtracted: an event left unchanged goes on as its raw bytes (checked canonical instead).
      const rest = r.cpu - plain.cpu - stages.engine - stages.decode;
      lines.push(
        `  service CPU µs/event by stage      : bus (as plain) ${us(plain.cpu)}, decode+validate ${us(stages.decode)}, masking ${us(stages.engine)}, rest ${us(rest)} (encode or canonical check, exposures, GC, loop)`,
      );
    }
    lines.push(
      `  clean stream: ${clean.messages} messages (${stats.clean} events + ${stats.exposures} exposure events), dead-lettered ${stats.deadLettered}, retried ${stats.retried}, ${stats.batches} batches (${(N / stats.batches).toFixed(1)} events/batch)`,
    );
  }

  console.log(
    `masking service${values.service === undefined ? '' : ` (${values.service})`} throughput, nats-server on loopback, ${N} events (${(bytes / N).toFixed(0)} B avg), ${RATE === undefined ? 'saturated (stored first)' : `fed at ${RATE} events/s`}, batch ${BATCH}, ${IN_FLIGHT} publishes in flight`,
  );
  console.log(`  machine: ${cpus().length} cores, load average before ${loadBefore}, after ${load()} (shared: other runs skew every figure alike)`);
  for (const l of lines) console.log(l);
} finally {
  await brokerBus.drain();
  await bus.drain();
  await nats.close();
}
