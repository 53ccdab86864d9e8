import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { redactPaths } from './redact.js';
import { serializers } from './serializers.js';

export type { Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** `auto`: pino-pretty when the destination is a terminal, JSON lines otherwise. */
export type LogFormat = 'auto' | 'json' | 'pretty';

/** Options of createLogger. */
export interface CreateLoggerOptions {
  /** Component name (`proxy`, `identity`…), written as `name` on every line. */
  name: string;
  /** Default `$LOG_LEVEL`, else `info`. */
  level?: LogLevel;
  /** Where lines go (default stdout); anything with `write(string)`. An `isTTY: true` destination counts as a terminal. */
  destination?: DestinationStream;
  /** Default `$LOG_FORMAT`, else `auto`. */
  format?: LogFormat;
}

// Compiled into one redactor per logger at creation, not per line.
const REDACT = Object.freeze(redactPaths());

const LEVELS = new Set<string>(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

const FORMATS = new Set<string>(['auto', 'json', 'pretty']);

function defaultFormat(): LogFormat {
  const env = process.env['LOG_FORMAT'];
  return env && FORMATS.has(env) ? (env as LogFormat) : 'auto';
}

/** Whether lines for this destination are prettified: asked for, or `auto` and a person is reading (a terminal). */
export function wantsPretty(format: LogFormat, destination: { isTTY?: boolean } | undefined): boolean {
  if (format !== 'auto') return format === 'pretty';
  return (destination ?? process.stdout).isTTY === true;
}

function defaultLevel(): LogLevel {
  const env = process.env['LOG_LEVEL'];
  return env && LEVELS.has(env) ? (env as LogLevel) : 'info';
}

/**
 * The one pino factory of agentgate: JSON lines with ISO time, serializers
 * that keep listed fields only (`req`: method, url without token-like query
 * parameters, id; `res`: status; `headers`: an allow-list), and redaction
 * of authorization, proxy-authorization, cookie, set-cookie, x-api-key,
 * token, password, secret (and variants) at depths 0–5.
 *
 * On a terminal (`npm start`) the lines are prettified by pino-pretty, after
 * the same serializers and redaction; anywhere else (containers, CI, files)
 * they stay JSON lines for the log collector.
 */
export function createLogger(opts: CreateLoggerOptions): Logger {
  const options: LoggerOptions = {
    name: opts.name,
    level: opts.level ?? defaultLevel(),
    serializers,
    redact: { paths: [...REDACT], censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (wantsPretty(opts.format ?? defaultFormat(), opts.destination as { isTTY?: boolean } | undefined)) {
    // Formatted in-process and written synchronously: no worker thread, and no line lost when the process exits at once.
    const out = opts.destination ?? pino.destination({ dest: 1, sync: true });
    const prettify = prettyFactory({
      colorize: (out as { isTTY?: boolean }).isTTY === true || (!opts.destination && process.stdout.isTTY === true),
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
    });
    const pretty: DestinationStream = { write: (line: string) => void out.write(prettify(line)) };
    return pino(options, pretty);
  }
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** Correlation ids bound to a child logger. */
export interface LogContext {
  requestId?: string | undefined;
  sessionId?: string | undefined;
  actionId?: string | undefined;
  msgId?: string | undefined;
}

/** A child logger bound to the ids of one request / message; unset ids are left out. */
export function childFor(logger: Logger, ctx: LogContext): Logger {
  const bindings: Record<string, string> = {};
  for (const key of ['requestId', 'sessionId', 'actionId', 'msgId'] as const) {
    const v = ctx[key];
    if (typeof v === 'string' && v.length > 0) bindings[key] = v;
  }
  return logger.child(bindings);
}
