/**
 * Where OpenSearch's CPU per audit document goes (issue 21): the same documents indexed into one
 * node under variants of the index template, id mode and bulk shape, OpenSearch's JVM CPU read from
 * /proc/<pid>/stat before and after each run (idle CPU over the same wall time subtracted), the
 * variants alternated in rounds so a change in the machine's load hits them all alike.
 *
 *   node bench/dist/os-cost.js [docs per run] [rounds] [variants,comma-separated] [shape: pipeline|bench]
 *
 * Built like throughput.ts (`npm run bench -w @agentgate/audit-writer` builds it too).
 */
import { readFileSync } from 'node:fs';
import { dailyIndex, setupDocuments } from '@agentgate/audit-writer';
import { type AuditEvent, GENESIS_HASH, sealEvent } from '@agentgate/events';
import { startOpenSearch } from '@agentgate/testkit';
import { Client } from '@opensearch-project/opensearch';
import { benchEvents, pipelineEvents } from './events.js';
import { THREAD_GROUPS, jvmThreadCpuMs, openSearchPid, processCpuUs } from './jvm-cpu.js';

const N = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 2);
const SHAPE = process.argv[5] ?? 'pipeline';

type Template = Record<string, unknown> & { template: { settings: { index: Record<string, unknown> }; mappings: Record<string, unknown> } };
interface Variant {
  /** Changes the shipped template (a deep copy). */
  template?: (t: Template) => void;
  /** Auto ids (`index` without `_id`) instead of `create` with the event id. */
  autoId?: boolean;
  batch?: number;
  inFlight?: number;
}

type Props = Record<string, { type?: string; properties?: Props; [k: string]: unknown }>;
function walk(p: Props, fn: (path: string, m: Props[string]) => void, pre = ''): void {
  for (const [k, v] of Object.entries(p)) {
    if (v.properties) walk(v.properties, fn, `${pre}${k}.`);
    else fn(pre + k, v);
  }
}
const props = (t: Template) => (t.template.mappings as { properties: Props }).properties;

const VARIANTS: Record<string, Variant> = {
  shipped: {},
  'auto-id': { autoId: true },
  'no-wildcard': {
    template: (t) =>
      walk(props(t), (_, m) => {
        if (m.type === 'wildcard') m.type = 'keyword';
      }),
  },
  'no-flat': { template: (t) => walk(props(t), (_, m) => m.type === 'flat_object' && Object.assign(m, { type: 'object', enabled: false })) },
  'no-doc-values': {
    template: (t) =>
      walk(props(t), (p, m) => {
        if (
          ['keyword', 'long', 'integer', 'boolean', 'ip'].includes(m.type ?? '') &&
          !/^(event\.(id|sequence)|agentgate\.chain\.partition|@timestamp)$/.test(p)
        )
          m['doc_values'] = false;
      }),
  },
  // Only what the writer and verify need; every other field kept in _source, not indexed.
  reduced: {
    template: (t) => {
      const keep = new Set([
        '@timestamp',
        'event.id',
        'event.sequence',
        'event.hash',
        'agentgate.chain.partition',
        'agentgate.chain.prev_hash',
        'agentgate.session.id',
      ]);
      const m = t.template.mappings as Record<string, unknown>;
      const out: Props = {};
      walk(props(t), (p, v) => {
        if (!keep.has(p)) return;
        let o = out;
        const parts = p.split('.');
        for (const part of parts.slice(0, -1)) {
          o[part] ??= { properties: {} };
          o = o[part].properties as Props;
        }
        o[parts.at(-1)!] = v;
      });
      m['properties'] = out;
      m['dynamic'] = false;
      delete m['dynamic_templates'];
    },
  },
  'refresh-30s': { template: (t) => (t.template.settings.index['refresh_interval'] = '30s') },
  'translog-async': { template: (t) => Object.assign(t.template.settings.index, { translog: { durability: 'async', sync_interval: '5s' } }) },
  'batch-100': { batch: 100 },
  'batch-2000': { batch: 2000 },
  'inflight-3': { inFlight: 3 },
};

const names = (process.argv[4] ?? Object.keys(VARIANTS).join(',')).split(',');
for (const n of names) if (!VARIANTS[n]) throw new Error(`unknown variant ${n}; known: ${Object.keys(VARIANTS).join(', ')}`);

function sealed(events: AuditEvent[]): AuditEvent[] {
  let prev = GENESIS_HASH;
  const ingested = new Date().toISOString();
  return events.map((e, i) => {
    const s = sealEvent(e, { partition: 'writer-0', seq: i + 1, prevHash: prev });
    prev = s.event.hash!;
    return { ...s, event: { ...s.event, ingested } };
  });
}

async function load(client: Client, prefix: string, docs: AuditEvent[], v: Variant): Promise<void> {
  const batch = v.batch ?? 500;
  let next = 0;
  const worker = async () => {
    while (next < docs.length) {
      const from = next;
      next += batch;
      let body = '';
      for (const d of docs.slice(from, from + batch)) {
        const index = JSON.stringify(dailyIndex(prefix, d['@timestamp']));
        body += v.autoId
          ? `{"index":{"_index":${index}}}\n${JSON.stringify(d)}\n`
          : `{"create":{"_index":${index},"_id":${JSON.stringify(d.event.id)}}}\n${JSON.stringify(d)}\n`;
      }
      const r = await client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: body });
      const b = r.body as { errors: boolean; items: Array<Record<string, { error?: unknown }>> };
      if (b.errors) throw new Error(`bulk errors: ${JSON.stringify(b.items.find((i) => Object.values(i)[0]?.error))}`);
    }
  };
  await Promise.all(Array.from({ length: v.inFlight ?? 1 }, worker));
}

/** Milliseconds the node's threads spent indexing, refreshing, merging, flushing, and in GC (node stats, cumulative). */
async function breakdown(client: Client): Promise<Record<string, number>> {
  const r = await client.nodes.stats({ metric: ['indices', 'jvm'] });
  const n = Object.values((r.body as { nodes: Record<string, Stats> }).nodes)[0]!;
  const gc = Object.values(n.jvm.gc.collectors).reduce((a, c) => a + c.collection_time_in_millis, 0);
  const i = n.indices;
  return {
    index: i.indexing.index_time_in_millis,
    refresh: i.refresh.total_time_in_millis,
    merge: i.merges.total_time_in_millis,
    flush: i.flush.total_time_in_millis,
    gc,
    refreshes: i.refresh.total,
    merges: i.merges.total,
  };
}
interface Stats {
  indices: {
    indexing: { index_time_in_millis: number };
    refresh: { total_time_in_millis: number; total: number };
    merges: { total_time_in_millis: number; total: number };
    flush: { total_time_in_millis: number };
  };
  jvm: { gc: { collectors: Record<string, { collection_time_in_millis: number }> } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// BENCH_OS_JVM="-XX:TieredStopAtLevel=1 ...": extra JVM flags of the node (to compare JIT settings).
const jvmArgs = (process.env['BENCH_OS_JVM'] ?? '').split(' ').filter(Boolean);
const os = await startOpenSearch({ jvmArgs });
const pid = openSearchPid(os.dir);
const client = new Client({ node: os.url, maxRetries: 0, requestTimeout: 120_000 });
const make = (n: number, id: string) => sealed(SHAPE === 'pipeline' ? pipelineEvents(n, id) : benchEvents(n, id));
try {
  for (const name of names) {
    const t = JSON.parse(JSON.stringify(setupDocuments('opensearch', `oc-${name}`).events)) as Template;
    VARIANTS[name]!.template?.(t);
    await client.transport.request({ method: 'PUT', path: `/_index_template/oc-${name}`, body: t });
  }
  // JIT warm-up on every variant (the node's indexing path is slow for its first ~20k documents).
  const warm = make(20_000, 'warm');
  for (let i = 0; i < names.length; i++)
    await load(client, `oc-${names[i]}`, warm.slice(0, names.length === 1 ? 20_000 : Math.max(4000, Math.floor(20_000 / names.length))), VARIANTS[names[i]!]!);
  await sleep(3000);
  const i0 = processCpuUs(pid);
  const it = performance.now();
  await sleep(4000);
  const idlePerMs = (processCpuUs(pid) - i0) / (performance.now() - it);
  const res: Record<string, number[]> = {};
  const wall: Record<string, number[]> = {};
  const brk: Record<string, Record<string, number>> = {};
  const thr: Record<string, Record<string, number>> = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      const docs = make(N, `${name}-${r}`);
      await sleep(1000);
      const b0 = await breakdown(client);
      const j0 = jvmThreadCpuMs(pid);
      const c0 = processCpuUs(pid);
      const t0 = performance.now();
      await load(client, `oc-${name}`, docs, VARIANTS[name]!);
      // What the documents cost after the bulk answered too (refresh, flush, merges they cause).
      await sleep(1500);
      const us = processCpuUs(pid) - c0 - idlePerMs * (performance.now() - t0);
      const b1 = await breakdown(client);
      const j1 = jvmThreadCpuMs(pid);
      res[name] = [...(res[name] ?? []), us / N];
      wall[name] = [...(wall[name] ?? []), (performance.now() - t0 - 1500) / 1000];
      const th = thr[name] ?? {};
      for (const g of THREAD_GROUPS) th[g] = (th[g] ?? 0) + (j1[g] - j0[g]);
      thr[name] = th;
      const parts = brk[name] ?? {};
      for (const k of Object.keys(b1)) parts[k] = (parts[k] ?? 0) + (b1[k]! - b0[k]!);
      brk[name] = parts;
    }
  }
  console.log(
    `load: ${readFileSync('/proc/loadavg', 'utf8').trim()}; OpenSearch JVM pid ${pid}, idle ${idlePerMs.toFixed(0)} ms CPU/s (subtracted); ${SHAPE} documents, ${N} per run; JVM flags: ${jvmArgs.join(' ') || '(testkit defaults)'}`,
  );
  for (const name of names) {
    const v = res[name]!;
    console.log(
      `${name.padEnd(16)} OpenSearch CPU µs/doc: ${v.map((x) => x.toFixed(0).padStart(5)).join(' ')}   (median ${[...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!.toFixed(0)}); load s ${wall[name]!.map((x) => x.toFixed(1)).join(' ')}`,
    );
    const b = brk[name]!;
    const per = (k: string) => ((b[k]! * 1000) / (N * ROUNDS)).toFixed(0);
    const t = thr[name]!;
    console.log(`${''.padEnd(16)} thread CPU µs/doc (jstack): ${THREAD_GROUPS.map((g) => `${g} ${((t[g]! * 1000) / (N * ROUNDS)).toFixed(0)}`).join(', ')}`);
    console.log(
      `${''.padEnd(16)} thread time µs/doc: index ${per('index')}, refresh ${per('refresh')} (${b['refreshes']} refreshes), merge ${per('merge')} (${b['merges']} merges), flush ${per('flush')}, GC ${per('gc')}`,
    );
  }
} finally {
  await client.close();
  await os.close();
}
