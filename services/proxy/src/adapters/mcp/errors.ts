import { ProxyError, type ProxyErrorCode } from '../../errors.js';
import type { RpcId } from './jsonrpc.js';

/** What a JSON-RPC error of the gateway says beyond code and message (`error.data`). */
export interface RefusalData {
  /** The gateway's error code (`ERR_POLICY_DENIED`, …), as in ERRORS.md. */
  readonly code: string;
  readonly rule?: string | null;
  readonly reason?: string;
}

/**
 * A refusal the mcp adapter rendered itself: the JSON-RPC error code and,
 * per request id it answers, the error's data (for a batch, the message that
 * was denied names its rule; the others say they were not sent).
 */
export class McpRefusal extends ProxyError {
  readonly rpcCode: number;
  /** Request ids answered (empty: none could be read, answered with id null). */
  readonly ids: readonly RpcId[];
  readonly batch: boolean;
  readonly perId: ReadonlyMap<RpcId, { message: string; data: RefusalData }>;
  constructor(
    code: ProxyErrorCode,
    rpcCode: number,
    message: string,
    x: { ids?: readonly RpcId[]; batch?: boolean; perId?: Map<RpcId, { message: string; data: RefusalData }> } = {},
  ) {
    super(code, message);
    this.rpcCode = rpcCode;
    this.ids = x.ids ?? [];
    this.batch = x.batch ?? false;
    this.perId = x.perId ?? new Map();
  }

  /** Malformed input (`-32700` parse error or `-32600` invalid request). */
  static malformed(rpcCode: -32700 | -32600, message: string, id?: RpcId): McpRefusal {
    return new McpRefusal('ERR_MCP_MALFORMED', rpcCode, message, id === undefined ? {} : { ids: [id] });
  }
}

/**
 * JSON-RPC error codes of the gateway's refusals. The reserved range
 * (-32768…-32000) is avoided where the MCP SDK gives a code a meaning of its
 * own (-32000 connection closed, -32001 request timeout).
 */
export function rpcCodeOf(err: ProxyError): number {
  if (err instanceof McpRefusal) return err.rpcCode;
  switch (err.code) {
    case 'ERR_POLICY_DENIED':
    case 'ERR_APPROVAL_REQUIRED':
    case 'ERR_APPROVAL_REJECTED':
    case 'ERR_APPROVAL_EXPIRED':
      return -32003;
    case 'ERR_AUTH_MISSING':
    case 'ERR_AUTH_MALFORMED':
    case 'ERR_AUTH_INVALID':
      return -32002;
    case 'ERR_MCP_SESSION_UNKNOWN':
      return -32004;
    case 'ERR_BAD_REQUEST':
    case 'ERR_BODY_TOO_LARGE':
    case 'ERR_MCP_MALFORMED':
      return -32600;
    default:
      return -32603;
  }
}
