import { parseArgs } from 'node:util';
import { ApprovalsCommandError, CliError } from '../errors.js';
import { gatewayBase, gatewayUrl } from '../lib/gateway-url.js';
import type { ExitCode, Output } from '../lib/output.js';
import { COMMAND_USAGE } from '../lib/usage.js';

const USAGE = COMMAND_USAGE.approvals;

interface ApprovalView {
  id: string;
  status: string;
  requestedAt: string;
  expiresAt: string;
  rule: string | null;
  reason?: string;
  policyVersion?: string;
  connection: string;
  principal: { subject: string; sessionId: string; identity?: Record<string, string> };
  binding?: {
    kind: string;
    attributes: Record<string, unknown>;
    request?: { method: string; path: string; query: string; headers: Record<string, string> };
    body: { sha256: string; bytes: number } | null;
    parts?: Array<{ kind: string; attributes: Record<string, unknown> }>;
    digest: string;
  };
  preview?: { encoding: string; text: string; truncated: boolean; masked: number } | null;
  decidedBy?: { subject: string };
  decisionReason?: string;
  consumedAt?: string;
}

// C0/C1 controls (CR included: it would let a body overwrite its own line) and bidi overrides (Trojan Source).
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters made visible.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** A line as the terminal shows it: every control or direction character made visible, so a body cannot restyle or hide text. */
function safe(line: string): string {
  return line.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The lines of `approvals show`: what the approver decides on (the gateway already masked everything shown). */
function showLines(a: ApprovalView): string[] {
  const b = a.binding;
  const req = b?.request;
  const who = Object.entries(a.principal.identity ?? {})
    .filter(([k]) => k !== 'sub')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const preview = a.preview;
  return [
    `id:         ${a.id}`,
    `status:     ${a.status}${a.consumedAt ? ` (used ${a.consumedAt})` : ''}`,
    `action:     ${b?.kind ?? '-'} on ${a.connection}`,
    ...(req ? [`request:    ${req.method} ${req.path}${req.query}`] : []),
    ...(req ? Object.entries(req.headers).map(([k, v]) => `  ${k}: ${v}`) : []),
    `rule:       ${a.rule ?? '-'}${a.reason ? ` (${a.reason})` : ''}`,
    `requester:  ${a.principal.subject} (session ${a.principal.sessionId})${who ? ` ${who}` : ''}`,
    `requested:  ${a.requestedAt}`,
    `expires:    ${a.expiresAt}`,
    `attributes: ${JSON.stringify(b?.attributes ?? {})}`,
    ...(b?.parts ? b.parts.map((p) => `  part ${p.kind} ${JSON.stringify(p.attributes)}`) : []),
    `body:       ${b?.body ? `${b.body.bytes} bytes, sha256 ${b.body.sha256}` : 'none'}`,
    ...(preview
      ? preview.encoding === 'binary'
        ? ['  (binary, not shown)']
        : [
            `  --- masked preview${preview.masked > 0 ? ` (${preview.masked} masked)` : ''}${preview.truncated ? ', truncated' : ''} ---`,
            ...preview.text.split('\n').map((l) => `  ${l}`),
            '  ---',
          ]
      : []),
    ...(b ? [`binding:    sha256 ${b.digest}`] : []),
    ...(a.policyVersion ? [`policy:     ${a.policyVersion}`] : []),
    ...(a.decidedBy ? [`decided by: ${a.decidedBy.subject}${a.decisionReason ? ` (${a.decisionReason})` : ''}`] : []),
  ];
}

/**
 * `agentgate approvals`: lists, shows and decides held actions through the
 * gateway's approver API (`/_agentgate/approvals`). Exit 0 on success, 1 when
 * the gateway refuses (not an approver, already decided, …), 2 on usage errors.
 */
export async function approvals(args: string[], io: Output, env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  let parsed: {
    values: { reason?: string | undefined; gateway?: string | undefined; token?: string | undefined; json?: boolean | undefined };
    positionals: string[];
  };
  try {
    parsed = parseArgs({
      args,
      options: { reason: { type: 'string' }, gateway: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (cause) {
    throw new CliError('ERR_CLI_USAGE', `${USAGE}\n(${(cause as Error).message})`);
  }
  const { values, positionals } = parsed;
  const [verb, id, ...extra] = positionals;
  const needsId = verb === 'show' || verb === 'approve' || verb === 'reject';
  if ((verb !== 'list' && !needsId) || (needsId && !id) || (!needsId && id !== undefined) || extra.length > 0) throw new CliError('ERR_CLI_USAGE', USAGE);
  if (values.reason !== undefined && verb !== 'approve' && verb !== 'reject') throw new CliError('ERR_CLI_USAGE', '--reason goes with approve or reject');
  const gateway = values.gateway ?? env['AGENTGATE_GATEWAY'];
  if (!gateway) throw new CliError('ERR_CLI_USAGE', `--gateway URL is required\n${USAGE}`);
  const base = gatewayUrl(gateway);
  const token = values.token ?? env['AGENTGATE_TOKEN'];
  if (!token) throw new CliError('ERR_CLI_USAGE', 'no token: pass --token or set AGENTGATE_TOKEN (an approver OIDC token)');

  const root = `${gatewayBase(base)}/_agentgate/approvals`;
  const path = verb === 'list' ? '' : `/${encodeURIComponent(id ?? '')}${verb === 'show' ? '' : `/${verb}`}`;
  const method = verb === 'approve' || verb === 'reject' ? 'POST' : 'GET';
  const body = method === 'POST' ? JSON.stringify(values.reason !== undefined ? { reason: values.reason } : {}) : undefined;
  const reply = await send(`${root}${path}`, method, token, body);
  if (values.json) {
    io.out(JSON.stringify(reply));
    return 0;
  }
  if (verb === 'list') {
    const list = (reply as { approvals: ApprovalView[] }).approvals;
    if (list.length === 0) io.out('no pending approvals');
    for (const a of list) {
      const body = a.binding?.body ? `  body ${a.binding.body.bytes}B sha256:${a.binding.body.sha256.slice(0, 12)}` : '';
      io.out(safe(`${a.id}  ${a.binding?.kind ?? '-'}  ${a.connection}  rule=${a.rule ?? '-'}  by ${a.principal.subject}${body}  expires ${a.expiresAt}`));
    }
    return 0;
  }
  const a = (reply as { approval: ApprovalView }).approval;
  if (verb === 'show') {
    io.out(showLines(a).map(safe).join('\n'));
    return 0;
  }
  io.out(`${a.status}: ${a.id}`);
  return 0;
}

async function send(url: string, method: string, token: string, body: string | undefined): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (cause) {
    // The URL is the user's own input; the token is never part of the message.
    throw new ApprovalsCommandError('ERR_GATEWAY_UNREACHABLE', `cannot reach the gateway at ${new URL(url).origin}`, { cause });
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApprovalsCommandError('ERR_GATEWAY_RESPONSE', `the gateway answered ${res.status} without JSON`);
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: unknown; message?: unknown } }).error;
    const code = typeof e?.code === 'string' ? e.code : 'ERR_GATEWAY_RESPONSE';
    throw new ApprovalsCommandError(code, `${typeof e?.message === 'string' ? e.message : 'refused'} (HTTP ${res.status})`);
  }
  return json;
}
