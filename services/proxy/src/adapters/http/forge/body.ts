import type { Readable } from 'node:stream';
import { ProxyError } from '../../../errors.js';

/**
 * Reads a body the classification depends on, whole but bounded: past
 * `max` the call is refused (413) rather than classified on a prefix. A
 * coded body (Content-Encoding) is refused: the gateway must read what it
 * decides on, and forge API clients send plain JSON.
 */
export async function readBounded(body: Readable, max: number, encoding: string | string[] | undefined): Promise<Buffer> {
  if (encoding !== undefined && String(encoding).trim().toLowerCase() !== 'identity') {
    throw new ProxyError('ERR_BAD_REQUEST', 'compressed request bodies are not accepted on forge calls the gateway classifies');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    const chunk = c as Buffer;
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw new ProxyError('ERR_BODY_TOO_LARGE', `the body of this forge call exceeds ${max} bytes (options.forge.maxBodyBytes): it cannot be classified`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The body as JSON; an empty body is `{}` (some calls have none); anything else that is not JSON is refused. */
export function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new ProxyError('ERR_BAD_REQUEST', 'the body of this forge call is not JSON: it cannot be classified', { cause });
  }
}
