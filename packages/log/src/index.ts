export { createLogger, childFor, wantsPretty } from './logger.js';
export { SENSITIVE_KEYS, REDACT_DEPTH, redactPaths } from './redact.js';
export { safeUrl, serializers } from './serializers.js';

export type { CreateLoggerOptions, LogContext, LogFormat, LogLevel, Logger } from './logger.js';
