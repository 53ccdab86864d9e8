import { CLOUD } from './cloud.js';
import { CODE_HOSTING } from './code-hosting.js';
import { GENERIC } from './generic.js';
import { SAAS } from './saas.js';
import type { DetectorDef } from './types.js';

/** Every built-in detector, in priority-tie order. */
export const BUILTIN_DETECTORS: readonly DetectorDef[] = [...CODE_HOSTING, ...CLOUD, ...SAAS, ...GENERIC];

export type { DetectorDef, ValidateOptions } from './types.js';
