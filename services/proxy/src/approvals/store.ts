import { type Bus, BusError, type Kv, type KvEntry } from '@agentgate/bus';
import { APPROVALS_BUCKET, type ApprovalRecord, type ApprovalStatus, type Approver, encodeRecord, principalKey, type Revisioned } from './record.js';

/** Outcome of a wait: the decided record, or why waiting stopped. */
export type WaitResult = { kind: 'decided'; rec: Revisioned } | { kind: 'timeout' | 'aborted'; rec: Revisioned | undefined };

/** Approval records in the shared KV bucket. */
export class ApprovalStore {
  readonly #kv: Kv;
  private constructor(kv: Kv) {
    this.#kv = kv;
  }

  static async open(bus: Bus): Promise<ApprovalStore> {
    // Records outlive their timeout by a day at most: enough to show a decision, never a growing bucket.
    return new ApprovalStore(await bus.kv(APPROVALS_BUCKET, { history: 1, ttlMs: 86_400_000 }));
  }

  async create(rec: ApprovalRecord): Promise<Revisioned> {
    return { record: rec, revision: await this.#kv.create(rec.id, encodeRecord(rec)) };
  }

  async get(id: string): Promise<Revisioned | undefined> {
    const e = await this.#kv.get(id);
    return e ? fromEntry(e) : undefined;
  }

  /** Pending records not yet past their deadline. */
  async pending(now = Date.now()): Promise<ApprovalRecord[]> {
    const out: ApprovalRecord[] = [];
    for (const key of await this.#kv.keys()) {
      const r = await this.get(key);
      if (r && r.record.status === 'pending' && Date.parse(r.record.expiresAt) > now) out.push(r.record);
    }
    // Oldest first; the id breaks ties so every instance sees the same order (the cap relies on it).
    return out.sort((a, b) => a.requestedAt.localeCompare(b.requestedAt) || a.id.localeCompare(b.id));
  }

  /** Pending records of one principal (issuer + subject), oldest first. */
  async pendingOf(p: { issuer: string; subject: string }, now = Date.now()): Promise<ApprovalRecord[]> {
    const key = principalKey(p);
    return (await this.pending(now)).filter((r) => principalKey(r.principal) === key);
  }

  /**
   * Moves a pending record to `status` with a compare-and-set on `current.revision`.
   * Returns the winner: ours, or (when another writer got there first) the record as it is now.
   */
  async decide(
    current: Revisioned,
    status: Exclude<ApprovalStatus, 'pending'>,
    via: string,
    by?: Approver,
    reason?: string,
  ): Promise<{ won: boolean; rec: Revisioned }> {
    return this.#transition(
      current,
      (r) => r.status === 'pending',
      (r) => ({
        ...r,
        status,
        decidedAt: new Date().toISOString(),
        decidedVia: via,
        ...(by && { decidedBy: by }),
        ...(reason !== undefined && { decisionReason: reason.slice(0, 500) }),
      }),
    );
  }

  /**
   * Marks an approved record as used, by compare-and-set: of any number of
   * callers exactly one wins, so an approval releases one request only.
   */
  async consume(current: Revisioned, via: string): Promise<{ won: boolean; rec: Revisioned }> {
    return this.#transition(
      current,
      (r) => r.status === 'approved' && r.consumedAt === undefined,
      (r) => ({
        ...r,
        consumedAt: new Date().toISOString(),
        consumedBy: via,
      }),
    );
  }

  /** One CAS step from `current` while `allowed` holds; on a lost race re-reads and re-checks. */
  async #transition(
    current: Revisioned,
    allowed: (r: ApprovalRecord) => boolean,
    change: (r: ApprovalRecord) => ApprovalRecord,
  ): Promise<{ won: boolean; rec: Revisioned }> {
    let cur = current;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (!allowed(cur.record)) return { won: false, rec: cur };
      const next = change(cur.record);
      try {
        const revision = await this.#kv.update(next.id, encodeRecord(next), cur.revision);
        return { won: true, rec: { record: next, revision } };
      } catch (err) {
        if (!(err instanceof BusError && err.code === 'ERR_KV_WRONG_REVISION')) throw err;
        // Someone else wrote first: re-read and honour what is there now.
        const again = await this.get(current.record.id);
        if (!again) throw err;
        cur = again;
      }
    }
    return { won: false, rec: cur };
  }

  /**
   * Waits until the record leaves `pending`, the deadline passes, or `signal` aborts.
   * Watches first, then re-reads, so an update between the two is never missed.
   */
  async wait(id: string, deadline: number, signal: AbortSignal): Promise<WaitResult> {
    let latest: Revisioned | undefined;
    let settle!: (r: WaitResult) => void;
    const done = new Promise<WaitResult>((resolve) => {
      settle = resolve;
    });
    const see = (r: Revisioned): void => {
      if (!latest || r.revision >= latest.revision) latest = r;
      if (r.record.status !== 'pending') settle({ kind: 'decided', rec: r });
    };
    const watch = await this.#kv.watch(id, (e) => {
      if (e.operation === 'PUT') see(fromEntry(e));
    });
    const timer = setTimeout(() => settle({ kind: 'timeout', rec: latest }), Math.max(0, deadline - Date.now()));
    const onAbort = (): void => settle({ kind: 'aborted', rec: latest });
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    try {
      const now = await this.get(id);
      if (now) see(now);
      return await done;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      await watch.stop().catch(() => {});
    }
  }
}

function fromEntry(e: KvEntry): Revisioned {
  return { record: e.json<ApprovalRecord>(), revision: e.revision };
}
