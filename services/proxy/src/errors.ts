/**
 * Client-facing errors of the proxy. Every refusal the proxy sends carries one
 * of these codes; the HTTP status of each code is set here and nowhere else,
 * and services/proxy/ERRORS.md documents every code (a test checks it).
 */
export const PROXY_ERRORS = {
  ERR_AUTH_MISSING: { status: 401, text: 'no credential: send Authorization: Bearer <CI OIDC token> (or Basic with the token as password)' },
  ERR_AUTH_MALFORMED: { status: 401, text: 'malformed Authorization header' },
  ERR_AUTH_INVALID: { status: 401, text: 'the token was refused' },
  ERR_IDENTITY_UNAVAILABLE: { status: 503, text: 'identity verification is unavailable; request refused' },
  ERR_BAD_TARGET: { status: 400, text: 'request target must be origin-form: /<connection>/<path>' },
  ERR_PATH_TRAVERSAL: { status: 400, text: 'path contains dot segments or encoded separators' },
  ERR_PATH_PARAMETERS: { status: 400, text: 'a path segment holds ";" parameters, which this connection does not allow (requests.allowMatrixParams)' },
  ERR_BAD_REQUEST: { status: 400, text: 'malformed request' },
  ERR_CONNECTION_UNKNOWN: { status: 404, text: 'no such connection' },
  ERR_NOT_FOUND: { status: 404, text: 'not found' },
  ERR_METHOD_NOT_ALLOWED: { status: 405, text: 'method not allowed' },
  ERR_MANIFEST_INVALID: { status: 400, text: 'the image manifest is malformed' },
  ERR_DIGEST_INVALID: { status: 400, text: 'the content does not match its digest' },
  ERR_KUBE_BAD_PATH: { status: 400, text: 'not a Kubernetes API path the gateway can classify' },
  ERR_KUBE_BAD_METHOD: { status: 405, text: 'the Kubernetes API has no verb for this method' },
  ERR_KUBE_BODY_MALFORMED: { status: 400, text: 'the request body could not be parsed to classify the write' },
  ERR_KUBE_BODY_UNSUPPORTED: { status: 415, text: 'the request body is in a media type the gateway cannot inspect; send JSON or YAML' },
  ERR_REQUEST_TIMEOUT: { status: 408, text: 'the request took too long to arrive' },
  ERR_BODY_TOO_LARGE: { status: 413, text: 'request body exceeds the limit' },
  ERR_HEADERS_TOO_LARGE: { status: 431, text: 'request headers exceed the limit' },
  ERR_UPGRADE_UNSUPPORTED: { status: 501, text: 'protocol upgrades and CONNECT are not supported' },
  ERR_ADAPTER_MISSING: { status: 501, text: 'this connection type has no protocol adapter in this gateway version' },
  ERR_POLICY_DENIED: { status: 403, text: 'denied by policy' },
  ERR_APPROVAL_REQUIRED: { status: 403, text: 'approval required' },
  ERR_APPROVAL_REJECTED: { status: 403, text: 'rejected by an approver' },
  ERR_APPROVAL_EXPIRED: { status: 403, text: 'approval timed out' },
  ERR_APPROVAL_NOT_FOUND: { status: 404, text: 'no such approval' },
  ERR_APPROVAL_DECIDED: { status: 409, text: 'the approval was already decided' },
  ERR_APPROVER_FORBIDDEN: { status: 403, text: 'not an approver: the principal is in none of approvals.approverGroups' },
  ERR_SELF_APPROVAL: { status: 403, text: 'approvers may not decide on their own actions' },
  ERR_APPROVALS_UNAVAILABLE: { status: 503, text: 'the approvals store is unavailable; request refused' },
  ERR_APPROVAL_BODY_TOO_LARGE: { status: 413, text: 'the body of a request held for approval exceeds approvals.maxBodyBytes' },
  ERR_APPROVALS_LIMIT: { status: 429, text: 'too many actions of this principal are waiting for approval' },
  ERR_APPROVAL_CONSUMED: { status: 409, text: 'the approval was already used: an approval releases one request only' },
  ERR_CONSOLE_LOGIN: { status: 401, text: 'sign in to the console first' },
  ERR_AUDIT_UNAVAILABLE: { status: 503, text: 'the audit trail is unavailable; request refused (no record, no action)' },
  ERR_CREDENTIAL_UNAVAILABLE: { status: 503, text: 'the upstream credential is unavailable; request refused' },
  ERR_UPSTREAM_UNREACHABLE: { status: 502, text: 'the upstream is unreachable' },
  ERR_UPSTREAM_TIMEOUT: { status: 504, text: 'the upstream did not answer in time' },
  ERR_UPSTREAM_ENCODING: { status: 502, text: 'the upstream response uses a content or transfer coding the gateway cannot inspect' },
  ERR_UPSTREAM_UNINSPECTABLE: { status: 502, text: 'the upstream response is a compressed archive the gateway cannot inspect' },
  ERR_UPSTREAM_UNMASKABLE: { status: 502, text: 'the upstream response holds a secret inside a compressed body the gateway does not rewrite' },
  ERR_MASKLIST_UNAVAILABLE: { status: 503, text: 'the list of brokered secrets is unavailable, so the response could not be masked; request refused' },
  ERR_UPSTREAM_FAILED: { status: 502, text: 'the upstream response failed' },
  ERR_UPSTREAM_TLS: { status: 502, text: "the upstream's TLS certificate could not be verified against the connection's CA" },
  ERR_UPSTREAM_MEDIA_TYPE: { status: 502, text: 'the upstream answered in a media type the gateway cannot mask' },
  ERR_UPSTREAM_TOO_LARGE: { status: 502, text: 'the upstream response decodes to more than the gateway will inspect' },
  ERR_MCP_MALFORMED: { status: 400, text: 'not a valid MCP (JSON-RPC 2.0) message' },
  ERR_MCP_SESSION_UNKNOWN: { status: 404, text: 'unknown or expired MCP session: initialize a new one' },
  ERR_MCP_SESSIONS_UNAVAILABLE: { status: 503, text: 'the MCP session bindings are unavailable; request refused' },
  ERR_CORRELATION_TIMEOUT: { status: 504, text: 'the correlation lookup timed out' },
  ERR_SHUTTING_DOWN: { status: 503, text: 'the gateway is shutting down' },
  ERR_INTERNAL: { status: 500, text: 'internal error' },
} as const satisfies Record<string, { status: number; text: string }>;

/** Code of a client-facing proxy error. Tests assert the code, never the message. */
export type ProxyErrorCode = keyof typeof PROXY_ERRORS;

/** Every code, for documentation checks and exhaustive handling. */
export const PROXY_ERROR_CODES = Object.freeze(Object.keys(PROXY_ERRORS) as ProxyErrorCode[]);

/** HTTP status of a code. */
export function statusOf(code: ProxyErrorCode): number {
  return PROXY_ERRORS[code].status;
}

/**
 * A refusal sent to the client. `message` is shown to the client, so it must
 * never hold a credential, a token or an upstream's raw error text; the
 * cause goes to the log only.
 */
export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  readonly status: number;
  /** Extra response headers (e.g. WWW-Authenticate). */
  readonly headers: Record<string, string>;
  constructor(code: ProxyErrorCode, message?: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(message ?? PROXY_ERRORS[code].text, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ProxyError';
    this.code = code;
    this.status = PROXY_ERRORS[code].status;
    this.headers = options?.headers ?? {};
  }
}

/** Anything thrown on the path becomes a ProxyError; unknown errors become ERR_INTERNAL so internals never leak. */
export function toProxyError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  return new ProxyError('ERR_INTERNAL', undefined, { cause: err });
}
