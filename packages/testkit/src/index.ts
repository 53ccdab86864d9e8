export * from './oidc/index.js';
export { TestkitError } from './errors.js';
export { findBinary, requireBinary } from './require-binary.js';
export { freePort, freePortInRange, isPortFree } from './free-port.js';
export { tempDir } from './temp-dir.js';
export { waitFor } from './wait-for.js';
export { startNats } from './nats.js';
export { startOpenSearch } from './opensearch.js';
export { startNatsCluster } from './nats-cluster.js';
export { startOpenSearchCluster } from './opensearch-cluster.js';
export { startGitServer } from './git-server.js';
export { startDelayProxy } from './delay-proxy.js';
export { isolatedGitEnv, redactCredentials, runGit } from './git-cli.js';
export { startRegistry } from './registry.js';
export { libtrustKeyId, startRegistryTokenIssuer } from './registry-token-issuer.js';
export { startTlsFront } from './tls-front.js';
export { buildTestImage, DOCKER_BASE_IMAGE, DOCKERD_LOG, dockerCli } from './docker.js';
export { KUBE_VERSION, kubeBinaries, kubectlPath, makeClientCertificate, runKubectl, startKube } from './kube.js';
export type { TestkitErrorCode } from './errors.js';
export type { TempDir } from './temp-dir.js';
export type { WaitForOptions } from './wait-for.js';
export type { NatsServer, StartNatsOptions } from './nats.js';
export type { OpenSearchNode, StartOpenSearchOptions } from './opensearch.js';
export type { NatsCluster, StartNatsClusterOptions } from './nats-cluster.js';
export type { OpenSearchCluster, StartOpenSearchClusterOptions } from './opensearch-cluster.js';
export type {
  CreateRepoOptions,
  GitRepo,
  GitRequestRecord,
  GitServer,
  GitServerAuth,
  StartGitServerOptions,
} from './git-server.js';
export type { RunGitOptions } from './git-cli.js';
export type { DelayedRequest, DelayProxy, DelayRule } from './delay-proxy.js';
export type { Registry, StartRegistryOptions } from './registry.js';
export type { RegistryTokenIssuer, StartRegistryTokenIssuerOptions, TokenRequestRecord } from './registry-token-issuer.js';
export type { TlsFront } from './tls-front.js';
export type { DockerCli, DockerRun, TestLayer } from './docker.js';
export type { KubeCluster, KubectlResult, KubeUser, StartKubeOptions } from './kube.js';
