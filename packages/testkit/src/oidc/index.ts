export { startAttackerJwks } from './attacker.js';
export { startCiIssuer } from './ci-issuer.js';
export { GITHUB_ACTIONS_ISSUER, githubClaims, gitlabClaims } from './claims.js';
export { startOidcProvider } from './oidc-provider.js';
export type { AttackerJwks } from './attacker.js';
export { ACTIONS_TOKEN_PATH } from './actions-runtime.js';
export type { ActionsRuntime, ActionsRuntimeOptions } from './actions-runtime.js';
export type { CiIssuer, CiIssuerAlg, CiIssuerOptions, MintOptions } from './ci-issuer.js';
export type { OidcProvider, OidcProviderOptions } from './oidc-provider.js';
