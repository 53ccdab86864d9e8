export { startMaskingService, MASKING_DURABLE } from './service.js';
export { MaskingServiceError } from './errors.js';
export { ensureAuditStreams } from './lib/streams.js';
export { DLQ_STAGE } from './lib/dead-letter.js';
export { exposureEventId } from './lib/exposure-id.js';

export type { MaskingService, MaskingServiceConfig, MaskingServiceOptions, MaskingServiceStats } from './service.js';
export type { MaskingServiceErrorCode } from './errors.js';
export type { DeadLetter } from './lib/dead-letter.js';
export type { MasklistSource } from './lib/secret-set.js';
export type { StreamLimits } from './lib/streams.js';
export { SERVICE_INFO } from './service-info.js';
