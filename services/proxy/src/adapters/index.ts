import { gitAdapter } from './git/index.js';
import { httpAdapter } from './http/index.js';
import { kubernetesAdapter } from './kubernetes/index.js';
import { llmAdapter } from './llm/index.js';
import { registryAdapter } from './registry/index.js';
import { mcpAdapter } from './mcp/index.js';
import type { Adapter, Connection } from './types.js';

/** One line per protocol: the only place that knows which adapters exist. */
const ADAPTERS: Partial<Record<Connection['type'], Adapter>> = {
  http: httpAdapter,
  git: gitAdapter,
  llm: llmAdapter,
  registry: registryAdapter,
  mcp: mcpAdapter,
  kubernetes: kubernetesAdapter,
};

/** The adapter of a connection type, or undefined when this version has none (requests are then refused). */
export function adapterFor(type: Connection['type']): Adapter | undefined {
  return ADAPTERS[type];
}
