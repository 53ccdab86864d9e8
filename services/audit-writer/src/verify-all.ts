import { CHAIN_BUCKET } from './lib/chain-state.js';
import { type CheckpointSource, formatVerifyReport, type VerifyOptions, type VerifyReport, type VerifyVerdict, verifyTrail } from './verify.js';

/** What `verify --all-partitions` answers: each partition's report, and what no partition accounts for. */
export interface VerifyAllReport {
  ok: boolean;
  verdict: VerifyVerdict;
  /** Every partition found in the index, the checkpoints or the bus, each walked. */
  partitions: VerifyReport[];
  /** Documents in the trail (fillers included); undefined when the sink cannot count. */
  documents: number | undefined;
  /** Documents that belong to no partition's chain (documents − the partitions' totals): inserted outside every chain. */
  unchained: number;
}

const RANK: Record<VerifyVerdict, number> = { ok: 0, 'unverified-tail': 1, failed: 2 };

async function checkpointPartitions(src: CheckpointSource): Promise<string[]> {
  if ('checkpoints' in src) return src.checkpoints.flatMap((c) => (typeof c === 'string' ? [] : [c.partition]));
  // The sink's own checkpoints are among the partitions it lists.
  if ('sink' in src) return [];
  // A bus: the partitions of the signed checkpoints are found by verifyTrail per partition; the
  // writers' chain heads name every partition that ever wrote, even one whose documents are all gone.
  const kv = await src.bus.kv(CHAIN_BUCKET, { history: 1 });
  return kv.keys();
}

/**
 * Verifies every chain partition of a trail: the partitions named by the index itself, by the
 * signed checkpoints and by the writers' chain heads on the bus (so a partition whose documents
 * were all deleted is still walked, and fails as truncated), then counts the trail's documents
 * against the partitions' totals: a document no chain holds was inserted outside every chain.
 * The verdict is the worst of them.
 */
export async function verifyAllPartitions(opts: Omit<VerifyOptions, 'partition'>): Promise<VerifyAllReport> {
  const names = new Set<string>([...(await opts.sink.partitions()), ...(await checkpointPartitions(opts.checkpoints))]);
  const partitions: VerifyReport[] = [];
  for (const partition of [...names].sort()) partitions.push(await verifyTrail({ ...opts, partition }));
  const documents = await opts.sink.countDocuments();
  const chained = partitions.reduce((n, r) => n + r.total, 0);
  const unchained = documents === undefined ? 0 : Math.max(0, documents - chained);
  let verdict: VerifyVerdict = partitions.reduce<VerifyVerdict>((w, r) => (RANK[r.verdict] > RANK[w] ? r.verdict : w), 'ok');
  if (unchained > 0) verdict = 'failed';
  return { ok: verdict === 'ok', verdict, partitions, documents, unchained };
}

/** Human-readable report: each partition's, then the count check and the overall verdict. */
export function formatVerifyAllReport(r: VerifyAllReport): string {
  const parts = r.partitions.map((p) => formatVerifyReport(p).trimEnd());
  if (r.partitions.length === 0) parts.push('no chain partition found in the trail, the checkpoints or the bus');
  const docs =
    r.documents === undefined
      ? 'the sink cannot count its documents: documents outside every chain are not looked for'
      : r.unchained > 0
        ? `INSERTED: ${r.unchained} of ${r.documents} documents belong to no chain partition`
        : `${r.documents} documents, every one in a chain partition`;
  parts.push(`all partitions (${r.partitions.length}): ${docs}`);
  parts.push(
    r.verdict === 'ok'
      ? 'OK: every partition is intact'
      : r.verdict === 'unverified-tail'
        ? 'UNVERIFIED TAIL in at least one partition: run verify again'
        : 'FAILED',
  );
  return `${parts.join('\n')}\n`;
}
