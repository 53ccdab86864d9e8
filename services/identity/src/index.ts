export { ASYMMETRIC_ALGORITHMS, identityConfigSchema, parseIdentityConfig } from './config.js';
export { IDENTITY_ERROR_CODES, IdentityError } from './errors.js';
export { IdentityVerifier } from './identity-verifier.js';
export { SERVICE_NAME, SERVICE_VERSION, VERIFY_SUBJECT, startIdentityService } from './service.js';
export type { GroupRule, IdentityConfig, IdentityConfigInput, IdentityRuntimeOptions, IssuerConfig } from './config.js';
export type { IdentityErrorCode } from './errors.js';
export type { IdentityStats } from './identity-verifier.js';
export type { IdentityLogger, IdentityService, VerifyRequest } from './service.js';
