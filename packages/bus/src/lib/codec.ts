import { BusError } from '../errors.js';
import type { Headers, Msg } from '../types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? enc.encode(data) : data;
}

export function bytesToString(data: Uint8Array): string {
  return dec.decode(data);
}

export function encodeJson(value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value ?? null));
}

export function decodeJson<T>(data: Uint8Array): T {
  try {
    return JSON.parse(dec.decode(data)) as T;
  } catch (cause) {
    throw new BusError('ERR_BUS_BAD_PAYLOAD', 'payload is not valid JSON', { cause });
  }
}

export function makeMsg(subject: string, data: Uint8Array, headers: Headers, reply?: string): Msg {
  return {
    subject,
    data,
    headers,
    reply,
    json<T>() {
      return decodeJson<T>(data);
    },
    string() {
      return dec.decode(data);
    },
  };
}

/** Headers marking a service error reply (the NATS micro-services convention). */
export const SERVICE_ERROR_HEADER = 'Nats-Service-Error';
export const SERVICE_ERROR_CODE_HEADER = 'Nats-Service-Error-Code';
