import { type ParseArgsConfig, parseArgs } from 'node:util';
import { CliError } from '../errors.js';
import { COMMAND_USAGE, type CommandName } from './usage.js';

type Options = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** Parsed flags (each optional) and positionals. */
export interface CommandArgs<O extends Options> {
  values: { [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean };
  positionals: string[];
}

/**
 * Parses a command's arguments strictly: an unknown flag, a missing flag value or a
 * positional beyond `maxPositionals` is a usage error (exit 2) naming it, never ignored —
 * a flag the command silently dropped would run it on something else than asked.
 */
export function parseCommandArgs<O extends Options>(command: CommandName, args: string[], options: O, maxPositionals = 0): CommandArgs<O> {
  let parsed: CommandArgs<O>;
  try {
    parsed = parseArgs({ args, options: options as ParseArgsConfig['options'], allowPositionals: true, strict: true }) as CommandArgs<O>;
  } catch (cause) {
    throw new CliError('ERR_CLI_USAGE', `${(cause as Error).message}\n${COMMAND_USAGE[command]}`, { cause });
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new CliError('ERR_CLI_USAGE', `unexpected argument "${parsed.positionals[maxPositionals]}"\n${COMMAND_USAGE[command]}`);
  }
  return parsed;
}

/** A usage error of `command`: the reason, then its usage text. */
export function usageError(command: CommandName, reason?: string): CliError {
  return new CliError('ERR_CLI_USAGE', reason ? `${reason}\n${COMMAND_USAGE[command]}` : COMMAND_USAGE[command]);
}
