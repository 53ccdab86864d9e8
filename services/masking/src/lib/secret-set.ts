import { createHash } from 'node:crypto';
import type { Logger } from '@agentgate/log';
import type { Masker, SecretInput } from '@agentgate/masking';

/** Where brokered values come from (the secret broker's lease client in production). */
export interface MasklistSource {
  masklist(): Promise<Array<{ ref: string; value: string }>>;
}

/** A masker that knows the brokered values, and how to name a hit. */
export interface ActiveSecrets {
  readonly masker: Masker;
  /** Refs (as configured) whose values this masker masks exactly. */
  readonly refs: ReadonlySet<string>;
  /** The configured ref of a ref the masker reports (refs are aliased when the engine refuses their shape). */
  refOf(maskerRef: string): string;
  /** When this list was fetched (ms since epoch). */
  readonly fetchedAt: number;
}

export interface SecretSetOptions {
  refreshMs: number;
  missRefreshMs: number;
  now?: () => number;
}

// Mirrors the engine's rules (packages/masking exact-set.ts) so a refused entry is handled here, not thrown there.
const MIN_SECRET_LENGTH = 6;
const REF_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;

/**
 * Holds the current brokered secret values as a compiled masker. Refreshed
 * every `refreshMs`, and on demand when an event names a secret the set does
 * not know (at most once per `missRefreshMs`); concurrent refreshes share one
 * request. A failed refresh keeps the last good list (values rarely change and
 * dropping them would unmask). Until the first list arrives `active()` is
 * undefined and the service holds events back (fail closed).
 */
export class SecretSet {
  readonly #base: Masker;
  readonly #source: MasklistSource | undefined;
  readonly #log: Logger;
  readonly #opts: SecretSetOptions;
  readonly #now: () => number;
  #active: ActiveSecrets | undefined;
  #inflight: Promise<boolean> | undefined;
  #lastMissRefresh = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;

  /** `source` undefined means no secrets are configured: the set is ready and empty. */
  constructor(base: Masker, source: MasklistSource | undefined, log: Logger, opts: SecretSetOptions) {
    this.#base = base;
    this.#source = source;
    this.#log = log;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    if (!source) this.#active = compile(base, [], log, this.#now());
  }

  active(): ActiveSecrets | undefined {
    return this.#active;
  }

  /** Starts the periodic refresh. */
  start(): void {
    if (!this.#source) return;
    this.#timer = setInterval(() => void this.refresh(), this.#opts.refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Fetches the list again; resolves true when a fresh list is in place. Never throws. */
  refresh(): Promise<boolean> {
    if (!this.#source) return Promise.resolve(true);
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Refreshes when one of `refs` is unknown, rate-limited; resolves when done (or skipped). */
  async refreshForMiss(refs: Iterable<string>): Promise<void> {
    const known = this.#active?.refs;
    const missing = [...refs].filter((r) => !known?.has(r));
    if (missing.length === 0 || this.#now() - this.#lastMissRefresh < this.#opts.missRefreshMs) return;
    this.#lastMissRefresh = this.#now();
    this.#log.info({ refs: missing }, 'event names secrets not in the masklist; refreshing it');
    await this.refresh();
  }

  async #fetch(): Promise<boolean> {
    try {
      const list = await this.#source!.masklist();
      this.#active = compile(this.#base, list, this.#log, this.#now());
      if (this.#failures > 0) this.#log.info({ after: this.#failures }, 'masklist fetched again');
      this.#failures = 0;
      return true;
    } catch (err) {
      this.#failures++;
      // The cause carries a code only (SecretError / BusError); never a value.
      const code = (err as { code?: unknown }).code;
      if (this.#failures === 1 || this.#failures % 10 === 0) {
        this.#log.warn({ code, failures: this.#failures, ready: this.#active !== undefined }, 'masklist could not be fetched from the secret broker');
      }
      return false;
    }
  }
}

function compile(base: Masker, list: ReadonlyArray<{ ref: string; value: string }>, log: Logger, now: number): ActiveSecrets {
  const inputs: SecretInput[] = [];
  const alias = new Map<string, string>();
  const refs = new Set<string>();
  for (const { ref, value } of list) {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) {
      // Masking a 1–5 character value would redact ordinary words everywhere; detectors still apply to it.
      log.warn({ ref, minLength: MIN_SECRET_LENGTH }, 'secret value too short to mask exactly; skipped');
      continue;
    }
    let name = ref;
    if (!REF_SHAPE.test(ref)) {
      // The value must still be masked: only its tag changes, the exposure event names the real ref.
      name = `ref-${createHash('sha256').update(ref).digest('hex').slice(0, 16)}`;
    }
    alias.set(name, ref);
    refs.add(ref);
    inputs.push({ ref: name, value });
  }
  return {
    masker: base.withSecrets(inputs),
    refs,
    refOf: (maskerRef) => alias.get(maskerRef) ?? maskerRef,
    fetchedAt: now,
  };
}
