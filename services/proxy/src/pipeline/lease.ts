import type { Connection } from '../adapters/types.js';
import { injectCredential as brokerInject } from '@agentgate/secret-broker';
import { ProxyError } from '../errors.js';
import type { Lease, LeasePort } from '../lib/ports.js';
import { stage } from '@agentgate/telemetry';

/** Leases the connection's credential; any failure refuses the request (fail closed), naming the connection only. */
export async function leaseFor(leases: LeasePort, connection: Connection): Promise<Lease | undefined> {
  if (!connection.credential) return undefined;
  try {
    return await stage('lease', () => leases.lease(connection.name));
  } catch (err) {
    throw new ProxyError('ERR_CREDENTIAL_UNAVAILABLE', `the credential of connection "${connection.name}" is unavailable; request refused`, {
      cause: err,
    });
  }
}

/**
 * Sets the upstream credential on the outgoing headers (the broker's
 * injectCredential). Runs after the client's Authorization was removed, so
 * the upstream sees only the brokered value; a value unfit for a header
 * refuses the request.
 */
export function injectCredential(headers: Record<string, string | string[]>, lease: Lease, connection: string): void {
  // A client certificate is presented in the TLS handshake (the adapter's upstreamTls), not as a header.
  if (lease.inject.type === 'client-certificate') return;
  try {
    brokerInject(headers, lease);
  } catch (err) {
    throw new ProxyError('ERR_CREDENTIAL_UNAVAILABLE', `the credential of connection "${connection}" cannot be injected; request refused`, {
      cause: err,
    });
  }
}
