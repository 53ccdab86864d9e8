import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** `auto`: human-readable (pino-pretty) when stdout is a terminal, JSON lines otherwise. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

/** `log`: the level and format of the pino loggers. */
export const logSchema = z
  .strictObject({
    level: z.enum(LOG_LEVELS).default('info'),
    format: z.enum(LOG_FORMATS).default('auto'),
  })
  .prefault({});

export type LogConfig = z.output<typeof logSchema>;
