export { startSecretBroker } from './broker.js';
export { createLeaseClient } from './client.js';
export { injectCredential } from './inject.js';
export { sealSecretFile, generateSealKey, generateSealKeyPair } from './seal.js';
export { createBackends } from './lib/backends.js';
export { SecretError, SECRET_ERROR_CODES, isSecretErrorCode } from './errors.js';
export { LEASE_SUBJECT, MASKLIST_SUBJECT, SERVICE_NAME, SERVICE_VERSION } from './subjects.js';

export type { SecretBroker, SecretBrokerOptions, BrokerLogger } from './broker.js';
export type { SecretBackend } from './lib/backends.js';
export type { SecretErrorCode } from './errors.js';
export type {
  EncryptedReply,
  InjectSpec,
  Lease,
  LeaseClient,
  LeaseClientOptions,
  LeasePayload,
  LeaseRequest,
  MasklistPayload,
  MasklistRequest,
} from './types.js';
