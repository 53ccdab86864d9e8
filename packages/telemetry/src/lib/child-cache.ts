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
    if (byB === undefined) this.#root.set(a, (byB = new Map()));
    let byC = byB.get(b);
    if (byC === undefined) byB.set(b, (byC = new Map()));
    let child = byC.get(c);
    if (child === undefined) byC.set(c, (child = this.#make(a, b, c)));
    return child;
  }
}
