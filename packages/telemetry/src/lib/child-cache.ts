/**
 * Label children of one metric (up to three labels), made once per label
 * combination and kept in nested maps: a hot-path call is one map look-up
 * per label, with no key string, label object or argument array built per
 * call (prom-client's `labels()` hashes an object every time). The label
 * values are bounded by the caller.
 */
export class ChildCache<C> {
  readonly #root = new Map<string, Map<string, Map<string, C>>>();
  readonly #make: (a: string, b: string, c: string) => C;

  constructor(make: (a: string, b: string, c: string) => C) {
    this.#make = make;
  }

  get(a: string, b = '', c = ''): C {
    let byB = this.#root.get(a);
    if (byB === undefined) {
      byB = new Map();
      this.#root.set(a, byB);
    }
    let byC = byB.get(b);
    if (byC === undefined) {
      byC = new Map();
      byB.set(b, byC);
    }
    let child = byC.get(c);
    if (child === undefined) {
      child = this.#make(a, b, c);
      byC.set(c, child);
    }
    return child;
  }
}
