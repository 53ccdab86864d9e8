/**
 * Event ids this writer knows every sink holds (their batch was confirmed everywhere and released,
 * or a reservation was settled): the newest `capacity` of them, oldest dropped first. A first
 * delivery of one of these (a duplicate published again past the stream's de-duplication window)
 * is acked without a slot and without asking the sinks.
 */
export class RecentIds {
  readonly #ids = new Set<string>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  add(id: string): void {
    // Re-added ids move to the newest end.
    this.#ids.delete(id);
    this.#ids.add(id);
    if (this.#ids.size > this.#capacity) {
      const oldest = this.#ids.values().next().value;
      if (oldest !== undefined) this.#ids.delete(oldest);
    }
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  get size(): number {
    return this.#ids.size;
  }
}
