import type { SessionCodec } from '../types.js';

/** Channel numbers of the Kubernetes streaming protocols (k8s.io/apimachinery/pkg/util/remotecommand). */
const NAMES: Record<number, string> = { 0: 'stdin', 1: 'stdout', 2: 'stderr', 3: 'error', 4: 'resize', 255: 'close' };

/** Binary channel protocols: every message is one channel byte followed by that channel's data. */
const BINARY_CHANNEL = /^(v[1-9]\.)?channel\.k8s\.io$/;

/**
 * The codec of an exec/attach session's WebSocket subprotocol, or undefined
 * for protocols the gateway relays opaque (the base64 variants, and
 * port-forward, which tunnels SPDY frames inside WebSocket messages).
 */
export function channelCodec(protocol: string): SessionCodec | undefined {
  if (!BINARY_CHANNEL.test(protocol)) return undefined;
  return {
    split(payload) {
      if (payload.length === 0) return undefined;
      return { channel: payload[0] as number, data: payload.subarray(1) };
    },
    join(channel, data) {
      return Buffer.concat([Buffer.from([channel]), data]);
    },
    channelName(channel) {
      return NAMES[channel] ?? `channel-${channel}`;
    },
  };
}
