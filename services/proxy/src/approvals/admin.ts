import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@agentgate/log';
import { ProxyError, toProxyError } from '../errors.js';
import { sendError } from '../lib/respond.js';
import type { Authenticator } from '../pipeline/authenticate.js';
import { decideApproval } from './decide.js';
import { checkFourEyes } from './four-eyes.js';
import type { RefusalLog } from '../pipeline/refusals.js';
import type { Approvals } from './hold.js';

/** The approver API lives here, under the proxy's reserved admin prefix. */
export const APPROVALS_PATH = '/_agentgate/approvals';

const ID = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_BODY = 4096;

interface AdminDeps {
  auth: Authenticator;
  approvals: Approvals | undefined;
  log: Logger;
  /** Refusals before authentication are counted here (token guessing against the approver API). */
  refusals?: RefusalLog | undefined;
}

/**
 * `GET /_agentgate/approvals` (pending), `GET …/<id>`, `POST …/<id>/approve|reject` with `{reason?}`.
 * Every call is authenticated by identity and limited to `approvals.approverGroups`.
 */
export async function handleApprovals(req: IncomingMessage, res: ServerResponse, deps: AdminDeps): Promise<void> {
  let authenticated = false;
  try {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const parts = path.slice(APPROVALS_PATH.length).split('/').filter(Boolean);
    const approvals = deps.approvals;
    const { principal } = await deps.auth.authenticate(req, 'bearer');
    authenticated = true;
    // Nobody is an approver unless a configured group says so (empty list: nobody).
    if (!approvals || !principal.groups.some((g) => approvals.config.approverGroups.includes(g))) {
      throw new ProxyError('ERR_APPROVER_FORBIDDEN');
    }
    const method = req.method ?? 'GET';
    if (parts.length === 0) {
      if (method !== 'GET') throw new ProxyError('ERR_METHOD_NOT_ALLOWED');
      send(res, 200, { approvals: await approvals.store.pending() });
      return;
    }
    const id = parts[0] ?? '';
    if (!ID.test(id) || parts.length > 2) throw new ProxyError('ERR_NOT_FOUND');
    if (parts.length === 1) {
      if (method !== 'GET') throw new ProxyError('ERR_METHOD_NOT_ALLOWED');
      const rec = await approvals.store.get(id);
      if (!rec) throw new ProxyError('ERR_APPROVAL_NOT_FOUND');
      send(res, 200, { approval: rec.record });
      return;
    }
    const verb = parts[1];
    if (verb !== 'approve' && verb !== 'reject') throw new ProxyError('ERR_NOT_FOUND');
    if (method !== 'POST') throw new ProxyError('ERR_METHOD_NOT_ALLOWED');
    const reason = await readReason(req);
    const rec = await approvals.store.get(id);
    if (!rec) throw new ProxyError('ERR_APPROVAL_NOT_FOUND');
    // Four eyes: not the requester's subject, session, or the same human by identity claims (unless configured).
    if (!approvals.config.allowSelfApproval) checkFourEyes(rec.record.principal, principal, approvals.config.identityClaims);
    const approver = { subject: principal.subject, issuer: principal.issuer, groups: [...principal.groups], sessionId: principal.sessionId };
    const decided = await decideApproval(approvals, rec, verb, approver, reason);
    const status = decided.record.status;
    deps.log.info({ approvalId: id, decision: status, approver: principal.subject }, 'approval decided');
    send(res, 200, { approval: decided.record });
  } catch (raw) {
    const err = raw instanceof ProxyError ? raw : isBusError(raw) ? new ProxyError('ERR_APPROVALS_UNAVAILABLE', undefined, { cause: raw }) : toProxyError(raw);
    if (err.code === 'ERR_INTERNAL') deps.log.error({ err: raw }, 'approvals API error');
    if (!authenticated) deps.refusals?.note({ ip: req.socket.remoteAddress, code: err.code, detail: causeCode(err.cause) });
    // sendError never throws (header values from the error are made safe there), so this handler always answers.
    sendError(req, res, err, { connection: undefined, requestId: '-' });
  }
}

async function readReason(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ProxyError('ERR_BODY_TOO_LARGE', `approval bodies are limited to ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  if (size === 0) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ProxyError('ERR_BAD_REQUEST', 'the body must be JSON: {"reason": "..."}');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ProxyError('ERR_BAD_REQUEST', 'the body must be a JSON object');
  const reason = (body as { reason?: unknown }).reason;
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string') throw new ProxyError('ERR_BAD_REQUEST', '"reason" must be a string');
  return reason.slice(0, 500);
}

function causeCode(cause: unknown): string | undefined {
  const c = (cause as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}

function isBusError(err: unknown): boolean {
  return (err as { name?: unknown })?.name === 'BusError';
}

function send(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
