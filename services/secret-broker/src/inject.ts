import { SecretError } from './errors.js';
import type { Lease } from './types.js';

type HeaderBag = Record<string, string | string[] | undefined>;

/**
 * Puts the leased credential on an outgoing request's headers (mutates and
 * returns `headers`): `Authorization: Bearer <value>`, `Authorization: Basic
 * base64(username:value)`, or the named header. Any header of the same name
 * sent by the agent is removed first, whatever its case: the upstream must
 * see the gateway's credential only, never one smuggled by the agent.
 * @throws SecretError ERR_SECRET_UNAVAILABLE when the value cannot be a header value (CR/LF/NUL).
 */
export function injectCredential<H extends HeaderBag>(headers: H, lease: Lease): H & HeaderBag {
  // A client certificate goes into the TLS handshake (the kubernetes adapter's upstream); it never belongs in a header.
  if (lease.inject.type === 'client-certificate') {
    throw new SecretError('ERR_SECRET_UNAVAILABLE', `credential "${lease.ref}" is a client certificate, presented in the TLS handshake, not in a header`);
  }
  // A newline in the value would let it add headers of its own (header injection).
  if (/[\r\n\0]/.test(lease.value)) {
    throw new SecretError('ERR_SECRET_UNAVAILABLE', `credential "${lease.ref}" contains characters not allowed in a header`);
  }
  const { type } = lease.inject;
  let name: string;
  let value: string;
  if (type === 'bearer') {
    name = 'authorization';
    value = `Bearer ${lease.value}`;
  } else if (type === 'basic') {
    name = 'authorization';
    value = `Basic ${Buffer.from(`${lease.inject.username ?? ''}:${lease.value}`, 'utf8').toString('base64')}`;
  } else {
    if (!lease.inject.header) throw new SecretError('ERR_SECRET_UNAVAILABLE', `credential "${lease.ref}" has no header name`);
    name = lease.inject.header.toLowerCase();
    value = lease.value;
  }
  const bag = headers as HeaderBag;
  for (const key of Object.keys(bag)) if (key.toLowerCase() === name) delete bag[key];
  bag[name] = value;
  return headers;
}
