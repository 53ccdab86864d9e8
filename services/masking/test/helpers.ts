import { randomInt } from 'node:crypto';
import type { Bus, StreamMsg } from '@agentgate/bus';
import { type Config, configSchema } from '@agentgate/config';
import { type AuditEvent, type Principal, STREAMS, buildActionEvent, newEventId, rawSubject, encodeEvent, eventMsgId } from '@agentgate/events';
import { type Logger, createLogger } from '@agentgate/log';

/** A brokered value that looks like nothing else, with characters that change under URL-encoding and base64. */
export const SECRET = 'gw_S3cr3t+/=Value&with?url%chars_7c1d9e';

/** A GitHub classic token shape, built at run time so no token-like literal sits in the repository. */
export function githubToken(): string {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = 'ghp_';
  for (let i = 0; i < 36; i++) s += abc[randomInt(abc.length)];
  return s;
}

/** Every form of a value the clean stream must not contain. */
export function leakForms(value: string): string[] {
  return [
    value,
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
    Buffer.from(`user:${value}`).toString('base64'),
    encodeURIComponent(value),
    JSON.stringify(value).slice(1, -1),
    Buffer.from(value).toString('hex'),
  ];
}

/** A validated configuration with one env-backed secret (`gh` ← GH_TOKEN) and fast retry timings. */
export function testConfig(service: Record<string, number> = {}): Config {
  return configSchema.parse({
    connections: [{ name: 'github', type: 'http', upstream: 'https://api.github.com', credential: { ref: 'gh', inject: 'bearer' } }],
    secrets: [{ ref: 'gh', source: 'env', env: 'GH_TOKEN' }],
    masking: { service: { retryDelayMs: 200, ackWaitMs: 2000, ...service } },
  }) as Config;
}

export const PRINCIPAL: Principal = {
  issuer: 'https://token.actions.githubusercontent.com',
  subject: 'repo:acme/app:ref:refs/heads/main',
  groups: ['acme'],
  claims: {},
  ci: { provider: 'github-actions', repository: 'acme/app', run: '42', attempt: '1', actor: 'octocat' },
  sessionId: 'acme/app#42.1',
  expiresAt: 2_000_000_000,
};

/** A `completed` event of the github connection; `attributes` and `url` carry whatever the test wants masked. */
export function rawEvent(opts: { attributes?: Record<string, unknown>; url?: string; actionId?: string } = {}): AuditEvent {
  return buildActionEvent({
    phase: 'completed',
    principal: PRINCIPAL,
    action: {
      id: opts.actionId ?? newEventId(),
      kind: 'http.request',
      connection: 'github',
      ...(opts.attributes !== undefined && { attributes: opts.attributes }),
    },
    ...(opts.url !== undefined && { url: { full: opts.url } }),
    http: { request: { method: 'GET' }, response: { status_code: 200 } },
  });
}

/** Publishes an event to the raw stream as the proxy does. */
export async function publishRaw(bus: Bus, event: AuditEvent): Promise<void> {
  await bus.streams.publish(rawSubject(event), encodeEvent(event), { msgId: eventMsgId(event) });
}

/** Every message currently stored in a stream, in order. */
export async function readStream(bus: Bus, stream: string): Promise<StreamMsg[]> {
  const info = await bus.streams.info(stream);
  const out: StreamMsg[] = [];
  for (let s = info.firstSeq; s <= info.lastSeq && info.messages > 0; s++) {
    const m = await bus.streams.get(stream, s);
    if (m) out.push(m);
  }
  return out;
}

export async function streamCount(bus: Bus, stream: string): Promise<number> {
  return (await bus.streams.info(stream)).messages;
}

export const text = (m: StreamMsg): string => Buffer.from(m.data).toString('utf8');
export const CLEAN = STREAMS.AUDIT_CLEAN.name;
export const DLQ = STREAMS.AUDIT_DLQ.name;

/** A debug-level logger whose lines are kept, to assert nothing secret is logged. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ name: 'masking-test', level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  return { logger, lines };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
