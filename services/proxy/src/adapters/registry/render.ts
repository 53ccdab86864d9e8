import type { ProxyError, ProxyErrorCode } from '../../errors.js';
import type { RenderedError } from '../types.js';

/** Error codes of the distribution API the gateway's refusals map to (docker prints `<code>: <message>`). */
const REGISTRY_CODES: Partial<Record<ProxyErrorCode, string>> = {
  ERR_AUTH_MISSING: 'UNAUTHORIZED',
  ERR_AUTH_MALFORMED: 'UNAUTHORIZED',
  ERR_AUTH_INVALID: 'UNAUTHORIZED',
  ERR_POLICY_DENIED: 'DENIED',
  ERR_APPROVAL_REQUIRED: 'DENIED',
  ERR_APPROVAL_REJECTED: 'DENIED',
  ERR_APPROVAL_EXPIRED: 'DENIED',
  ERR_MANIFEST_INVALID: 'MANIFEST_INVALID',
  ERR_DIGEST_INVALID: 'DIGEST_INVALID',
  ERR_BODY_TOO_LARGE: 'SIZE_INVALID',
  ERR_CONNECTION_UNKNOWN: 'NAME_UNKNOWN',
  ERR_NOT_FOUND: 'UNSUPPORTED',
  ERR_METHOD_NOT_ALLOWED: 'UNSUPPORTED',
};

/** The registry's own API version header, on everything the gateway answers under /v2/. */
export const API_VERSION_HEADER = { 'docker-distribution-api-version': 'registry/2.0' } as const;

/**
 * A refusal in the distribution API's error format,
 * `{"errors":[{"code":"DENIED","message":"…","detail":{…}}]}`, with the
 * gateway's status, so `docker push` prints the rule and reason
 * (`denied: denied by policy (rule immutable-tags): …`). The gateway's own
 * code and the request id travel in `detail`.
 */
export function renderRegistryError(err: ProxyError, ctx: { connection: string | undefined; requestId: string }): RenderedError {
  const code = REGISTRY_CODES[err.code] ?? (err.status === 503 ? 'UNAVAILABLE' : 'UNKNOWN');
  const detail = { code: err.code, requestId: ctx.requestId, ...(ctx.connection && { connection: ctx.connection }) };
  return {
    status: err.status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...API_VERSION_HEADER },
    body: JSON.stringify({ errors: [{ code, message: err.message, detail }] }),
  };
}
