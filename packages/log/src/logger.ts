import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { redactPaths } from './redact.js';
import { serializers } from './serializers.js';

export type { Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Options of createLogger. */
export interface CreateLoggerOptions {
  /** Component name (`proxy`, `identity`…), written as `name` on every line. */
  name: string;
  /** Default `$LOG_LEVEL`, else `info`. */
  level?: LogLevel;
  /** Where JSON lines go (default stdout); anything with `write(string)`. */
  destination?: DestinationStream;
}

// Compiled into one redactor per logger at creation, not per line.
const REDACT = Object.freeze(redactPaths());

const LEVELS = new Set<string>(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

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
