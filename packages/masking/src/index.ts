export { createMasker } from './masker.js';
export { MaskingError } from './errors.js';
export { BUILTIN_DETECTORS } from './lib/detectors/index.js';
export { SENSITIVE_KEYS } from './lib/json-mask.js';
export type { MaskingErrorCode } from './errors.js';
export type {
  CustomDetector,
  EntropyOptions,
  Finding,
  Masker,
  MaskerOptions,
  MaskJsonOptions,
  MaskJsonResult,
  MaskTextResult,
  SecretInput,
  StreamRedactor,
} from './types.js';
export type { DetectorDef } from './lib/detectors/index.js';
