import type { ServiceInfo } from '@agentgate/bus';

/**
 * How this process appears among the NATS micro-services (`$SRV.PING|INFO|STATS.proxy`):
 * every instance answers `nats micro ping proxy`, with its version and uptime, beside
 * identity and secret-broker. It has no request/reply endpoint of its own.
 */
export const SERVICE_INFO: ServiceInfo = {
  name: 'proxy',
  version: '0.1.0',
  description: 'The data path: authenticates, decides, records and forwards the actions of CI agents',
};
