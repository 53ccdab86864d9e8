export {
  ASYMMETRIC_ALGORITHMS,
  claimConstraintSchema,
  groupRuleSchema,
  identityConfigSchema,
  issuerSchema,
  parseIdentityConfig,
} from './config.js';
export { IDENTITY_ERROR_CODES, IdentityError } from './errors.js';
export { IdentityVerifier } from './identity-verifier.js';
export { SERVICE_NAME, SERVICE_VERSION, VERIFY_SUBJECT, startIdentityService } from './service.js';
export type { ClaimConstraint, GroupRule, IdentityConfig, IdentityConfigInput, IssuerConfig } from './config.js';
export type { IdentityErrorCode } from './errors.js';
export type { IdentityStats, IdentityVerifierOptions } from './identity-verifier.js';
export type { CiContext, CiProvider, ClaimValue, Principal } from './principal.js';
export type { IdentityLogger, IdentityService, VerifyRequest } from './service.js';
