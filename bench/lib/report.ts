/** The bench's tables on stdout and its JSON summary. */
import type { LagFigures } from './lag-poller.js';
import type { LossFigures } from './loss-check.js';
import type { StreamBacklog } from './observe.js';
import type { StepResult } from './protocol.js';

/** CPU µs per second of each process with no load; the machine's busy share meanwhile. */
export interface IdleRow {
  when: string;
  perSecond: Record<string, number | undefined>;
  machineBusy: number;
}

/** One baseline step: the same load straight to the upstream. */
export interface BaselineRow {
  rate: number;
  result: StepResult;
  cpu: Record<string, number | undefined>;
  machineBusy: number;
}

/** One pipeline step. */
export interface StepRow {
  rate: number;
  result: StepResult;
  backlogEnd: Record<'AUDIT_RAW' | 'AUDIT_CLEAN', StreamBacklog>;
  /** Largest RAW + CLEAN backlog seen (sampled every second) during the step. */
  backlogMax: number;
  /** Backlog growth over the step's second half, events/s (sampled every second); undefined for too short a step. */
  backlogGrowth: number | undefined;
  drain: { drained: boolean; ms: number };
  lag: LagFigures & { unresolved: number; errors: number };
  ingestLag: { p50: number; p99: number } | undefined;
  loss: LossFigures;
  /** CPU µs per process from the step's start until the pipeline drained. */
  cpu: Record<string, number | undefined>;
  /** The whole machine's busy CPU µs over the same window. */
  machineBusyMicros: number;
  /** Busy share of all cores while the load ran. */
  machineBusy: number;
}

/** Processes of the pipeline, in the order of an action's path. */
const PIPELINE = ['proxy', 'identity', 'secret-broker', 'masking', 'audit-writer', 'nats-server', 'opensearch'] as const;
/** Processes of the bench itself. */
const HARNESS = ['loadgen', 'upstream', 'bench'] as const;

const f = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));
const pad = (s: string, w: number) => s.padStart(w);
const achieved = (r: StepResult) => (r.ok / r.elapsedMs) * 1000;

function perAction(cpu: Record<string, number | undefined>, name: string, actions: number): number | undefined {
  const v = cpu[name];
  return v === undefined || actions === 0 ? undefined : v / actions;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * Whether the backlog stayed bounded: over the step's second half it grew by less than 5% of the
 * events the step produced (2 per action), or at the end it held under 1 s of them.
 */
function bounded(s: StepRow): boolean {
  const events = 2 * achieved(s.result);
  const end = s.backlogEnd.AUDIT_RAW.messages + s.backlogEnd.AUDIT_CLEAN.messages;
  return end <= events || (s.backlogGrowth !== undefined && s.backlogGrowth < 0.05 * events);
}

export interface ReportInput {
  opts: Record<string, unknown>;
  /** CPU µs per second of each process with no load, after the warm-up and after the last step. */
  idle: IdleRow[];
  baseline: BaselineRow[];
  steps: StepRow[];
  started: Date;
  load: { start: number[]; end: number[] };
  pids: Record<string, number | undefined>;
  dir: string;
}

/** Prints the tables; returns the JSON summary. */
export function printReport(x: ReportInput): unknown {
  const out: string[] = [];
  out.push('', 'Baseline: the same fixed-rate GETs straight to the upstream (no gateway)');
  out.push(
    table(
      ['offered/s', 'achieved/s', 'p50 ms', 'p99 ms', 'failed', 'skipped', 'upstream µs/req', 'loadgen µs/req'],
      x.baseline.map((b) => [
        f(b.rate),
        f(achieved(b.result)),
        f(b.result.latency.p50, 2),
        f(b.result.latency.p99, 2),
        f(b.result.failedCount),
        f(b.result.skipped),
        f(perAction(b.cpu, 'upstream', b.result.ok), 1),
        f(perAction(b.cpu, 'loadgen', b.result.ok), 1),
      ]),
    ),
  );
  out.push('', 'Whole pipeline: proxy → JetStream → masking → JetStream → audit-writer → OpenSearch (every service its own process, built code)');
  out.push(
    table(
      [
        'offered/s',
        'achieved/s',
        'failed',
        'skipped',
        'p50 ms',
        'p99 ms',
        'backlog end raw/clean',
        'max',
        'growth/s',
        'bounded',
        'lag p50/p99 ms (n)',
        'ingest p50/p99 ms',
        'missing',
        'dup',
        'drain s',
      ],
      x.steps.map((s) => [
        f(s.rate),
        f(achieved(s.result)),
        f(s.result.failedCount),
        f(s.result.skipped),
        f(s.result.latency.p50, 1),
        f(s.result.latency.p99, 1),
        `${s.backlogEnd.AUDIT_RAW.messages}/${s.backlogEnd.AUDIT_CLEAN.messages}`,
        f(s.backlogMax),
        f(s.backlogGrowth),
        bounded(s) ? 'yes' : 'NO',
        `${f(s.lag.p50)}/${f(s.lag.p99)} (${s.lag.resolved}${s.lag.unresolved ? `, ${s.lag.unresolved} unresolved` : ''})`,
        s.ingestLag ? `${f(s.ingestLag.p50)}/${f(s.ingestLag.p99)}` : '-',
        `${s.loss.missing}${s.loss.exact ? '' : '?'}`,
        f(s.loss.duplicated),
        `${f(s.drain.ms / 1000, 1)}${s.drain.drained ? '' : '!'}`,
      ]),
    ),
  );
  out.push('', 'CPU µs per action (from the step start until the pipeline drained; /proc/<pid>/stat utime+stime)');
  out.push(
    table(
      ['offered/s', ...PIPELINE, 'pipeline', ...HARNESS, 'other', 'machine busy'],
      x.steps.map((s) => {
        const n = s.result.ok;
        const ours = [...PIPELINE, ...HARNESS].reduce((a, p) => a + (s.cpu[p] ?? 0), 0);
        const pipeline = PIPELINE.reduce((a, p) => a + (s.cpu[p] ?? 0), 0);
        return [
          f(s.rate),
          ...PIPELINE.map((p) => f(perAction(s.cpu, p, n))),
          f(n ? pipeline / n : undefined),
          ...HARNESS.map((p) => f(perAction(s.cpu, p, n))),
          f(n ? (s.machineBusyMicros - ours) / n : undefined),
          `${f(s.machineBusy * 100)}%`,
        ];
      }),
    ),
  );
  out.push(
    table(
      ['idle, µs/s', ...PIPELINE, 'pipeline', ...HARNESS, '', 'machine busy'],
      x.idle.map((i) => [
        `no load, ${i.when}`,
        ...PIPELINE.map((p) => f(i.perSecond[p])),
        f(PIPELINE.reduce((a, p) => a + (i.perSecond[p] ?? 0), 0)),
        ...HARNESS.map((p) => f(i.perSecond[p])),
        '',
        `${f(i.machineBusy * 100)}%`,
      ]),
    ),
  );
  const notes = [
    'achieved/s: 200s per second of the step; skipped: sends due while max-in-flight requests were out (open loop).',
    'backlog: AUDIT_RAW/AUDIT_CLEAN messages (work queues: not yet masked / not yet indexed) when the load stopped; growth/s over the',
    "  step's second half; bounded = it grew by under 5% of the events produced, or ends under 1 s of them.",
    'lag: response → completed event searchable, sampled, polled every 200 ms (includes the 1 s refresh); ingest: event.ingested − @timestamp.',
    'missing/dup: of every 200, its requested and completed events in OpenSearch by trace id ("?" = too many failures to tell apart).',
    'other: CPU of everything else on the machine (it is shared) per action; machine busy: all cores while the load ran.',
    'idle: CPU µs per second each process takes with no load (3 s after the warm-up and after the last step); the per-action figures include it.',
    'the lag poller searches OpenSearch 5 times a second (50 trace ids at most) during a step: that CPU is in the opensearch column.',
  ];
  out.push('', ...notes.map((n) => `  ${n}`));
  out.push(`  load average ${x.load.start.map((l) => l.toFixed(2)).join(' ')} at the start, ${x.load.end.map((l) => l.toFixed(2)).join(' ')} at the end`);
  const before = x.idle[0];
  if (before && before.machineBusy > 0.5) {
    // Figures taken on a machine other work already fills measure the contention, not the pipeline.
    out.push(
      `  WARNING: the machine was ${f(before.machineBusy * 100)}% busy before any load (other work): these figures are not comparable with a quiet machine's`,
    );
  }
  console.log(out.join('\n'));
  return {
    started: x.started.toISOString(),
    loadavg: x.load,
    options: x.opts,
    pids: x.pids,
    logs: x.dir,
    idle: x.idle,
    baseline: x.baseline.map((b) => ({
      offered: b.rate,
      achieved: achieved(b.result),
      latencyMs: b.result.latency,
      failed: b.result.failures,
      skipped: b.result.skipped,
      cpuMicrosPerRequest: Object.fromEntries(Object.keys(b.cpu).map((p) => [p, perAction(b.cpu, p, b.result.ok)])),
    })),
    steps: x.steps.map((s) => ({
      offered: s.rate,
      achieved: achieved(s.result),
      sent: s.result.sent,
      ok: s.result.ok,
      failed: s.result.failures,
      skipped: s.result.skipped,
      latencyMs: s.result.latency,
      backlogEnd: s.backlogEnd,
      backlogMax: s.backlogMax,
      backlogGrowthPerSecond: s.backlogGrowth ?? null,
      bounded: bounded(s),
      drain: s.drain,
      lagMs: s.lag,
      ingestLagMs: s.ingestLag ?? null,
      loss: s.loss,
      cpuMicrosPerAction: Object.fromEntries(Object.keys(s.cpu).map((p) => [p, perAction(s.cpu, p, s.result.ok)])),
      pipelineCpuMicrosPerAction: s.result.ok ? PIPELINE.reduce((a, p) => a + (s.cpu[p] ?? 0), 0) / s.result.ok : null,
      otherCpuMicrosPerAction: s.result.ok ? (s.machineBusyMicros - [...PIPELINE, ...HARNESS].reduce((a, p) => a + (s.cpu[p] ?? 0), 0)) / s.result.ok : null,
      machineBusy: s.machineBusy,
    })),
  };
}
