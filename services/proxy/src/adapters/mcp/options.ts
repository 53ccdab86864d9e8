import type { Connection } from '../types.js';

/** The header carrying the MCP session id (node lower-cases header names). */
export const SESSION_HEADER = 'mcp-session-id';

/** Options of an mcp connection, with defaults for any other connection type (unit tests). */
export interface McpOptions {
  filterTools: boolean;
  maxMessageBytes: number;
  sessionTtlMs: number;
  recordChars: number;
}

const DEFAULTS: McpOptions = { filterTools: true, maxMessageBytes: 4 * 1024 * 1024, sessionTtlMs: 24 * 3600_000, recordChars: 4096 };

export function mcpOptionsOf(connection: Connection): McpOptions {
  return connection.type === 'mcp' ? { ...DEFAULTS, ...connection.options } : DEFAULTS;
}

/** MCP session ids are visible ASCII (0x21–0x7E); bounded so a header cannot become a large KV key input. */
export function validSessionId(v: string): boolean {
  return v.length > 0 && v.length <= 256 && /^[\x21-\x7e]+$/.test(v);
}
