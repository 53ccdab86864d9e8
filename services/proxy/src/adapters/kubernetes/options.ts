import type { Connection } from '../types.js';

/** A kubernetes connection. */
export type KubeConnection = Extract<Connection, { type: 'kubernetes' }>;
/** Its options, defaults applied by the config schema. */
export type KubeOptions = KubeConnection['options'];

/** The options of a kubernetes connection (the pipeline only hands this adapter kubernetes connections). */
export function kubeOptions(connection: Connection): KubeOptions {
  if (connection.type !== 'kubernetes') throw new TypeError(`connection "${connection.name}" is not a kubernetes connection`);
  return connection.options;
}
