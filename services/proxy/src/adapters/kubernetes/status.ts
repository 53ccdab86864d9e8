import { ProxyError } from '../../errors.js';
import type { RenderedError } from '../types.js';

/** metav1.StatusReason for each HTTP status the gateway refuses with (kubectl prints "Error from server (<reason>): <message>"). */
const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  408: 'Timeout',
  409: 'Conflict',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  429: 'TooManyRequests',
  431: 'BadRequest',
  500: 'InternalError',
  502: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The `Status` object a refusal becomes, so Kubernetes clients print it as they print the API server's own errors. */
export function statusObject(err: ProxyError, ctx: { connection: string | undefined; requestId: string }): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `agentgate: ${err.message} (${err.code}, request ${ctx.requestId})`,
    reason: REASONS[err.status] ?? '',
    details: { causes: [{ reason: err.code, message: err.message }] },
    code: err.status,
  };
}

/** Renders a refusal as a Kubernetes `Status` (the client sees the rule and the reason). */
export function renderStatus(err: ProxyError, ctx: { connection: string | undefined; requestId: string }): RenderedError {
  return { status: err.status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(statusObject(err, ctx)) };
}

/** The refusal of one denied part: names the action, the rule and its reason. */
export function kubeRefusal(kind: string, d: { rule: string | null; reason: string }): ProxyError {
  const by = d.rule ? `policy rule "${d.rule}"` : 'the policy default';
  const why = d.reason && !d.reason.startsWith('denied by') ? `: ${d.reason}` : '';
  return new ProxyError('ERR_POLICY_DENIED', `${kind} denied by ${by}${why}`);
}
