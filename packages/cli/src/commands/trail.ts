import { readLocalTrail, searchTrail } from '@agentgate/audit-writer';
import { type Config, loadConfig } from '@agentgate/config';
import { type AuditEvent, buildTrail, formatTrail } from '@agentgate/events';
import { CliError } from '../errors.js';
import { parseCommandArgs, usageError } from '../lib/args.js';
import type { ExitCode, Output } from '../lib/output.js';
import { resolveStartConfig } from './start.js';

// The fold of events into steps is shared with the console (packages/events/src/trail.ts), the
// lines with the proxy's tests (packages/events/src/trail-format.ts).
export { buildTrail, formatTrail } from '@agentgate/events';
export type { TrailStep, TrailToolCall } from '@agentgate/events';

/** Reads a session's events from the configuration's first sink (local store, OpenSearch or Elasticsearch). */
export async function readTrail(config: Config, sessionId: string): Promise<AuditEvent[]> {
  const sink = config.audit.sinks[0];
  if (!sink) throw new CliError('ERR_CLI_INPUT', 'the configuration has no audit sink to read the trail from');
  if (sink.type === 'local') return readLocalTrail(sink.path, { sessionId });
  return searchTrail(sink, { sessionId, indexPrefix: config.audit.indexPrefix });
}

/**
 * `agentgate trail <session-id> [--config FILE] [--json]`: prints one agent
 * session step by step. Exit 0 when the session has events, 1 when none.
 */
export async function trail(args: string[], io: Output): Promise<ExitCode> {
  const parsed = parseCommandArgs('trail', args, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } }, 1);
  const sessionId = parsed.positionals[0];
  if (!sessionId) throw usageError('trail', 'a session id is required');
  const config = loadConfig({ path: parsed.values.config ?? resolveStartConfig() });
  const steps = buildTrail(await readTrail(config, sessionId));
  if (parsed.values.json) io.out(JSON.stringify({ session: sessionId, steps }));
  else if (steps.length > 0) for (const line of formatTrail(sessionId, steps)) io.out(line);
  if (steps.length === 0) {
    io.err(`no events for session "${sessionId}"`);
    return 1;
  }
  return 0;
}
