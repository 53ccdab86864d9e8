import type { Bus, Service } from '@agentgate/bus';
import type { Principal } from '@agentgate/events';
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
  const service = await bus.addService({ name: SERVICE_NAME, version: SERVICE_VERSION, description: 'CI OIDC token verification' });
  service.addEndpoint<VerifyRequest, Principal>(
    'verify',
    async (req) => {
      const token = req && typeof req === 'object' ? (req as { token?: unknown }).token : undefined;
      try {
        const principal = await verifier.verify(token);
        logger?.debug({ session: principal.sessionId, issuer: principal.issuer, subject: principal.subject }, 'token verified');
        return principal;
      } catch (err) {
        if (err instanceof IdentityError) {
          // The token itself is never logged: it is a bearer credential until it expires.
          logger?.info({ code: err.code, reason: err.message, cause: causeText(err.cause) }, 'token refused');
          throw err;
        }
        logger?.warn({ err: causeText(err) }, 'unexpected error while verifying a token');
        // Fail closed with a generic code rather than leaking library internals to the caller.
        throw new IdentityError('ERR_TOKEN_MALFORMED', 'token could not be verified', { cause: err });
      }
    },
    { subject: VERIFY_SUBJECT },
  );
  logger?.info({ issuers: verifier.config.issuers.map((i) => i.issuer), subject: VERIFY_SUBJECT }, 'identity service started');
  return { verifier, service, stop: () => service.stop() };
}

function causeText(err: unknown): string | undefined {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 200);
  return undefined;
}
