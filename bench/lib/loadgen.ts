/**
 * The load generator: a process of its own (fork of pipeline.ts) that offers small
 * authenticated GETs at a fixed rate (open loop: sends are due by the clock, not by
 * responses; at `maxInFlight` a due send is skipped and counted). Every request carries
 * a W3C traceparent whose trace id numbers it, so its audit events can be found in
 * OpenSearch by `trace.id`.
 */
import { Pool } from 'undici';
import { traceIdOf } from './trace-id.js';
import type { LoadgenMessage, SamplesMessage, StepOrder, StepResult } from './protocol.js';

const FAILED_KEPT = 1000;

function send(m: LoadgenMessage): void {
  process.send?.(m);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runStep(o: StepOrder): Promise<StepResult> {
  const pool = new Pool(o.origin, { connections: o.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const total = Math.round(o.rate * o.seconds);
  const latencies = new Float64Array(total);
  const failed: number[] = [];
  const failures: Record<string, number> = {};
  let failedCount = 0;
  let ok = 0;
  let sent = 0;
  let skipped = 0;
  let inFlight = 0;
  let samples: SamplesMessage['items'] = [];
  const sampleEvery = o.samplesPerSecond > 0 ? Math.max(1, Math.round(o.rate / o.samplesPerSecond)) : 0;
  const flush = setInterval(() => {
    if (samples.length === 0) return;
    send({ type: 'samples', items: samples });
    samples = [];
  }, 100);

  const fail = (n: number, why: string) => {
    failedCount++;
    failures[why] = (failures[why] ?? 0) + 1;
    if (failed.length < FAILED_KEPT) failed.push(n);
  };

  const one = async (n: number) => {
    const traceId = traceIdOf(o.tracePrefix, n);
    const headers: Record<string, string> = { traceparent: `00-${traceId}-${(n + 1).toString(16).padStart(16, '0')}-01` };
    if (o.tokens.length > 0) headers['authorization'] = `Bearer ${o.tokens[n % o.tokens.length]}`;
    const t0 = performance.now();
    try {
      const r = await pool.request({ method: 'GET', path: `${o.pathPrefix}${n}`, headers });
      await r.body.dump({ limit: 1 << 20 });
      const t1 = performance.now();
      if (r.statusCode !== 200) return fail(n, String(r.statusCode));
      latencies[ok++] = t1 - t0;
      if (sampleEvery > 0 && n % sampleEvery === 0) samples.push([n, performance.timeOrigin + t1]);
    } catch (err) {
      fail(n, (err as { code?: string }).code ?? 'error');
    }
  };

  const pending = new Set<Promise<void>>();
  const start = performance.now();
  let due = 0;
  // Open loop: every tick sends what the clock says is due by now.
  while (due < total) {
    const elapsed = (performance.now() - start) / 1000;
    due = Math.min(total, Math.floor(elapsed * o.rate));
    while (sent + skipped < due) {
      if (inFlight >= o.maxInFlight) {
        skipped++;
        continue;
      }
      const n = sent++;
      inFlight++;
      const p = one(n).finally(() => {
        inFlight--;
        pending.delete(p);
      });
      pending.add(p);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const elapsedMs = performance.now() - start;
  clearInterval(flush);
  if (samples.length > 0) send({ type: 'samples', items: samples });
  await pool.close();
  const sorted = latencies.subarray(0, ok).sort();
  return {
    type: 'result',
    sent,
    ok,
    failed,
    failedCount,
    failures,
    skipped,
    elapsedMs,
    latency: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? Number.NaN },
  };
}

process.on('message', (m: StepOrder) => {
  if (m.type !== 'step') return;
  runStep(m).then(send, (err: Error) => send({ type: 'error', message: err.message }));
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
