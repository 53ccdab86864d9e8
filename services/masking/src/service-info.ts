import type { ServiceInfo } from '@agentgate/bus';

/**
 * How this process appears among the NATS micro-services (`$SRV.PING|INFO|STATS.masking`):
 * every instance answers `nats micro ping masking`, with its version and uptime, beside
 * identity and secret-broker. It has no request/reply endpoint of its own.
 */
export const SERVICE_INFO: ServiceInfo = { name: 'masking', version: '0.1.0', description: 'Masks audit events: AUDIT_RAW to AUDIT_CLEAN' };
