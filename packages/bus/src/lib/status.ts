import type { BusStatus } from '../types.js';

/** The connection status of a bus and its listeners; `closed` is final. */
export class StatusTracker {
  #value: BusStatus = 'connected';
  #listeners = new Set<(s: BusStatus) => void>();

  get value(): BusStatus {
    return this.#value;
  }

  set(s: BusStatus): void {
    if (this.#value === s || this.#value === 'closed') return;
    this.#value = s;
    for (const l of this.#listeners) l(s);
  }

  on(cb: (s: BusStatus) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }
}
