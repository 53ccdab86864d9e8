import type { ServiceInfo } from '@agentgate/bus';

/**
 * How this process appears among the NATS micro-services (`$SRV.PING|INFO|STATS.audit-writer`):
 * every instance answers `nats micro ping audit-writer`, with its version and uptime, beside
 * identity and secret-broker. It has no request/reply endpoint of its own.
 */
export const SERVICE_INFO: ServiceInfo = { name: 'audit-writer', version: '0.1.0', description: 'Indexes the clean audit stream into the configured sinks' };
