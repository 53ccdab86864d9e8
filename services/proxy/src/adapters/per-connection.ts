import type { Connection } from './types.js';

/** A value an adapter derives from a connection's options once (compiled globs, …). */
export interface PerConnection<T> {
  /** Compiles the connection's value now: called from the adapter's `checkConnection`, at start-up (a throw stops start-up). */
  prepare(connection: Connection): void;
  /** The connection's value: the one `prepare` compiled, or compiled now for a connection that never went through start-up (unit tests). */
  of(connection: Connection): T;
}

/**
 * Holds what an adapter compiles from each connection's options, once per
 * connection object: the frozen config's connections live as long as the
 * proxy, so nothing is compiled on the request path. Keyed weakly, so a
 * test's throw-away connections are not kept.
 */
export function perConnection<T>(compile: (connection: Connection) => T): PerConnection<T> {
  const values = new WeakMap<Connection, T>();
  const prepare = (connection: Connection): T => {
    const v = compile(connection);
    values.set(connection, v);
    return v;
  };
  return {
    prepare(connection) {
      prepare(connection);
    },
    of(connection) {
      return values.has(connection) ? (values.get(connection) as T) : prepare(connection);
    },
  };
}
