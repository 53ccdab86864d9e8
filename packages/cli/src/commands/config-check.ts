import { checkConfig, formatConfigErrors } from '@agentgate/config';
import type { ExitCode, Output } from '../lib/output.js';

/** `agentgate config check [FILE]`: validates a configuration file, names every bad key, exits 1 when invalid. */
export async function configCheck(args: string[], io: Output): Promise<ExitCode> {
  const file = args[0];
  const result = checkConfig(file);
  if (result.ok) {
    io.out(`ok: ${JSON.stringify(result.summary)}`);
    return 0;
  }
  io.err(formatConfigErrors(result.errors));
  return 1;
}
