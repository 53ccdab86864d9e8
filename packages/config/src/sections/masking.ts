import { z } from 'zod';
import { nonEmpty } from '../lib/common.js';

/** `masking`: which detectors run and what to do with secrets found in prompts. */
export const maskingSchema = z
  .strictObject({
    detectors: z.union([z.literal('all'), z.array(nonEmpty).min(1)]).default('all'),
    entropy: z
      .strictObject({
        enabled: z.boolean().default(true),
        minLength: z.number().int().min(8).default(20),
        threshold: z.number().positive().max(8).default(4.0),
      })
      .prefault({}),
    promptSecrets: z.enum(['mask', 'refuse']).default('mask'),
  })
  .prefault({});

export type MaskingConfig = z.output<typeof maskingSchema>;
