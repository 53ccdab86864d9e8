export { ConfigError } from './errors.js';
export { loadConfig, resolveConfigPath, formatConfigErrors } from './load.js';
export { checkConfig, summarizeConfig } from './check.js';
export { configSchema } from './schema.js';
/** Section schemas a service parses a hand-built section with (one source of the defaults). */
export { identitySchema } from './sections/identity.js';
export { maskingServiceSchema } from './sections/masking.js';
export { ENV_OVERRIDES } from './env.js';
export { JWT_ALGORITHMS, ISSUER_PROFILES } from './sections/identity.js';
export { CONNECTION_TYPES, FORGE_TYPES, NEVER_FORWARDED_HEADERS, MASK_RESPONSES, MASK_RESPONSES_DEFAULT } from './sections/connections.js';
export { POLICY_DECISIONS } from './sections/policy.js';
export { LOG_LEVELS } from './sections/log.js';
export { CONSOLE_CALLBACK_PATH } from './sections/console.js';

export type { ConfigErrorCode, ConfigIssue } from './errors.js';
export type { LoadConfigOptions } from './load.js';
export type { CheckConfigResult, ConfigSummary } from './check.js';
export type { Config, DeepReadonly } from './schema.js';
export type { GatewayConfig } from './sections/gateway.js';
export type { BusConfig } from './sections/bus.js';
export type { IdentityConfig, IssuerConfig } from './sections/identity.js';
export type { ConnectionConfig, ConnectionsConfig, MaskResponses } from './sections/connections.js';
export type { SecretConfig, SecretsConfig } from './sections/secrets.js';
export type { PolicyConfig, PolicyRuleConfig } from './sections/policy.js';
export type { MaskingConfig, MaskingServiceConfig } from './sections/masking.js';
export type { AuditConfig, SinkConfig } from './sections/audit.js';
export type { LogConfig } from './sections/log.js';
export type { ConsoleConfig } from './sections/console.js';
export type { ApprovalsConfig } from './sections/approvals.js';
