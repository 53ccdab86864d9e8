import type { IncomingMessage } from 'node:http';
import { newEventId, type Principal } from '@agentgate/events';
import type { Adapter, AdapterRequest, Connection } from '../adapters/types.js';
import type { RequestTarget } from '../lib/request-target.js';
import { decide } from './decide.js';
import type { RequestState } from './request-state.js';
import type { ProxyRuntime } from './runtime.js';

/** Who asks, and the id of the action their request becomes. */
export interface Admission {
  principal: Principal;
  actionId: string;
}

/**
 * Authenticates the client with the adapter's challenge, gives the request its
 * action id and binds that id to the client's session (a plain request and an
 * upgrade are admitted the same way).
 */
export async function admitClient(rt: ProxyRuntime, req: IncomingMessage, st: RequestState, adapter: Adapter): Promise<Admission> {
  const { principal } = await rt.auth.authenticate(req, adapter.challenge ?? 'bearer');
  const actionId = newEventId();
  st.bindAction(principal.sessionId, actionId);
  return { principal, actionId };
}

/** The fields of the request adapters see that do not depend on its body: the target, the headers, who asks, and policy's decision for them. */
export type AdapterRequestHead = Pick<
  AdapterRequest,
  'method' | 'connection' | 'rawPath' | 'path' | 'rawQuery' | 'query' | 'headers' | 'principal' | 'decide' | 'actionId' | 'services'
>;

/** The body-independent part of the request adapters see; each caller adds its body and what else it offers. */
export function adapterRequestHead(rt: ProxyRuntime, req: IncomingMessage, target: RequestTarget, connection: Connection, a: Admission): AdapterRequestHead {
  const { principal, actionId } = a;
  return {
    method: req.method ?? 'GET',
    connection,
    rawPath: target.rawPath,
    path: target.path,
    rawQuery: target.rawQuery,
    query: target.query,
    headers: req.headers,
    principal,
    decide: (action) => decide(rt.policy, principal, { kind: action.kind, connection: connection.name, attributes: action.attributes }),
    actionId,
    ...(rt.services && { services: rt.services }),
  };
}
