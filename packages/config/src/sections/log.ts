import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `log`: the level of the pino loggers. */
export const logSchema = z.strictObject({ level: z.enum(LOG_LEVELS).default('info') }).prefault({});

export type LogConfig = z.output<typeof logSchema>;
