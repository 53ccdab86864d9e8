import type { Bus, Service } from '@agentgate/bus';
import type { Principal } from '@agentgate/events';
import { continueTrace, endSpan, processMetrics } from '@agentgate/telemetry';
import type { IdentityConfigInput, IdentityRuntimeOptions } from './config.js';
import { IdentityError } from './errors.js';
import { IdentityVerifier } from './identity-verifier.js';

/** Subject of the verify endpoint the proxy calls. */
export const VERIFY_SUBJECT = 'identity.verify';
export const SERVICE_NAME = 'identity';
export const SERVICE_VERSION = '0.1.0';

/** The part of a pino-like logger the service uses. */
export interface IdentityLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Request of `identity.verify`. */
export interface VerifyRequest {
  token: string;
}

export interface IdentityService {
  readonly verifier: IdentityVerifier;
  readonly service: Service;
  stop(): Promise<void>;
}

/**
 * Registers the `identity` service with its `verify` endpoint
 * (`identity.verify`: `{ token }` → {@link Principal}; a refusal crosses the
 * bus as `{code, message}`).
 */
export async function startIdentityService(
  bus: Bus,
  config: IdentityConfigInput,
  logger?: IdentityLogger,
  runtime?: IdentityRuntimeOptions,
): Promise<IdentityService> {
  const verifier = new IdentityVerifier(config, runtime);
  const verifications = processMetrics().identityVerifications;
  const service = await bus.addService({ name: SERVICE_NAME, version: SERVICE_VERSION, description: 'CI OIDC token verification' });
  service.addEndpoint<VerifyRequest, Principal>(
    'verify',
    (req, msg) =>
      // The proxy's authenticate span is the parent (traceparent in the request's headers).
      continueTrace(msg.headers, 'agentgate.identity.verify', 'server', {}, async (span) => {
        const token = req && typeof req === 'object' ? (req as { token?: unknown }).token : undefined;
        try {
          const principal = await verifier.verify(token);
          verifications.inc({ outcome: 'verified' });
          logger?.debug({ session: principal.sessionId, issuer: principal.issuer, subject: principal.subject }, 'token verified');
          endSpan(span);
          return principal;
        } catch (err) {
          const refusal =
            err instanceof IdentityError
              ? err
              : // Fail closed with a generic code rather than leaking library internals to the caller.
                new IdentityError('ERR_TOKEN_MALFORMED', 'token could not be verified', { cause: err });
          verifications.inc({ outcome: refusal.code });
          endSpan(span, refusal);
          // The token itself is never logged: it is a bearer credential until it expires.
          if (err instanceof IdentityError) logger?.info({ code: err.code, reason: err.message, cause: causeText(err.cause) }, 'token refused');
          else logger?.warn({ err: causeText(err) }, 'unexpected error while verifying a token');
          throw refusal;
        }
      }),
    { subject: VERIFY_SUBJECT },
  );
  logger?.info({ issuers: verifier.config.issuers.map((i) => i.issuer), subject: VERIFY_SUBJECT }, 'identity service started');
  return { verifier, service, stop: () => service.stop() };
}

function causeText(err: unknown): string | undefined {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 200);
  return undefined;
}
