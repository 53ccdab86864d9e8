import type { Config } from '@agentgate/config';
import type { Principal } from '@agentgate/events';
import { ProxyError } from '../errors.js';
import type { Requester } from './record.js';

type IdentityClaims = Config['approvals']['identityClaims'];

/**
 * The values of the configured identity claims for a principal's profile:
 * who the human behind a run is (`actor` on GitHub, `user_login`/`user_id`
 * on GitLab). `sub` is the verified subject. Missing claims are left out.
 */
export function identityOf(p: Principal, claims: IdentityClaims): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of claims[p.ci.provider]) {
    const v = name === 'sub' ? p.subject : p.claims[name];
    if ((typeof v === 'string' && v.length > 0) || typeof v === 'number') out[name] = String(v);
  }
  return out;
}

/**
 * Four eyes: refuses (ERR_SELF_APPROVAL) an approver who is the requester —
 * the same subject, the same session, or the same human by any configured
 * identity claim (same claim name and value, whatever token or repository
 * carried it). Issuers are not compared: a false match refuses, which is
 * the safe side.
 */
export function checkFourEyes(requester: Requester, approver: Principal, claims: IdentityClaims): void {
  checkSameHuman(requester, { subject: approver.subject, sessionId: approver.sessionId, identity: identityOf(approver, claims) });
}

/**
 * Four eyes against an approver described by subject, session and identity
 * claims (a CI principal's, or a console login's mapped onto the requester's
 * claim names): refuses ERR_SELF_APPROVAL on any match.
 */
export function checkSameHuman(requester: Requester, approver: { subject: string; sessionId: string; identity: Record<string, string> }): void {
  if (requester.subject === approver.subject || requester.sessionId === approver.sessionId) {
    throw new ProxyError('ERR_SELF_APPROVAL');
  }
  const mine = approver.identity;
  for (const [name, value] of Object.entries(requester.identity)) {
    if (mine[name] === value) {
      throw new ProxyError('ERR_SELF_APPROVAL', `approvers may not decide on their own actions (same ${name} as the requester)`);
    }
  }
}
