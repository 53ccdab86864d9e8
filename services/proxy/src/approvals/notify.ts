import { createHmac, randomUUID } from 'node:crypto';
import { backoffMs } from '@agentgate/bus';
import type { Config } from '@agentgate/config';
import type { Logger } from '@agentgate/log';
import { request } from 'undici';
import type { OwnSecrets } from './own-secrets.js';
import type { ApprovalRecord } from './record.js';
import { changeSummary } from './summary.js';

type NotifyConfig = Config['approvals']['notify'];
type Webhook = NotifyConfig['webhooks'][number];

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`. */
export const SIGNATURE_HEADER = 'x-agentgate-signature';
const MAX_BACKOFF_MS = 60_000;

/** Deliveries so far (for the log line and tests; failures are also logged one by one). */
export interface NotifyStats {
  delivered: number;
  failed: number;
  attempts: number;
}

/**
 * The signature a receiver recomputes: HMAC-SHA256 with the shared key over
 * the timestamp, a dot, and the raw body bytes. Receivers should also refuse
 * a timestamp older than a few minutes (replay).
 */
export function signBody(key: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Tells approver groups about new holds through their webhooks. Fire and
 * forget: `held` returns at once; each delivery is retried with exponential
 * backoff (and jitter) on network errors, timeouts, 408, 429 and 5xx; a
 * delivery that still fails is logged and counted. Nothing here can block,
 * delay or fail a hold. Redirects are never followed (a signed body is for
 * the configured receiver only).
 */
export class HoldNotifier {
  readonly #cfg: NotifyConfig;
  readonly #secrets: OwnSecrets;
  readonly #link: (id: string) => string;
  readonly #log: Logger;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #stats: NotifyStats = { delivered: 0, failed: 0, attempts: 0 };

  constructor(cfg: NotifyConfig, deps: { secrets: OwnSecrets; link: (id: string) => string; log: Logger }) {
    this.#cfg = cfg;
    this.#secrets = deps.secrets;
    this.#link = deps.link;
    this.#log = deps.log;
  }

  get enabled(): boolean {
    return this.#cfg.webhooks.length > 0;
  }

  held(rec: ApprovalRecord): void {
    for (const hook of this.#cfg.webhooks) {
      const p = this.#deliver(hook, rec).catch((err: unknown) => {
        this.#stats.failed++;
        // The URL may be a credential (Slack): only the group and format are logged.
        this.#log.warn({ approvalId: rec.id, group: hook.group, format: hook.format, reason: (err as Error).message }, 'approval notification failed');
      });
      this.#inFlight.add(p);
      void p.finally(() => this.#inFlight.delete(p));
    }
  }

  stats(): NotifyStats {
    return { ...this.#stats };
  }

  /** Resolves once every delivery in flight has succeeded or given up, or after `timeoutMs`. */
  async settle(timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#inFlight.size > 0 && Date.now() < deadline) {
      const left = deadline - Date.now();
      await Promise.race([Promise.allSettled([...this.#inFlight]), ...(Number.isFinite(left) ? [sleep(left)] : [])]);
    }
  }

  async #deliver(hook: Webhook, rec: ApprovalRecord): Promise<void> {
    const url = hook.url ?? (await this.#secrets(hook.urlRef as string));
    const key = hook.secretRef ? await this.#secrets(hook.secretRef) : undefined;
    const body = webhookBody(hook, rec, this.#link(rec.id));
    const delivery = randomUUID();
    let lastError = 'no attempt';
    for (let attempt = 1; attempt <= this.#cfg.attempts; attempt++) {
      // The first retry waits about `backoffMs`, doubling after each, never above MAX_BACKOFF_MS.
      if (attempt > 1) await sleep(backoffMs(attempt - 2, { baseMs: this.#cfg.backoffMs, maxMs: MAX_BACKOFF_MS }));
      this.#stats.attempts++;
      const t = Math.floor(Date.now() / 1000);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'agentgate-approvals',
        'x-agentgate-event': 'approval.held',
        // The same id on every attempt: a receiver that got an earlier one can drop the repeat.
        'x-agentgate-delivery': delivery,
        'x-agentgate-timestamp': String(t),
        ...(key !== undefined && { [SIGNATURE_HEADER]: signBody(key, t, body) }),
      };
      try {
        const res = await request(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.#cfg.timeoutMs) });
        await res.body.dump().catch(() => {});
        if (res.statusCode >= 200 && res.statusCode < 300) {
          this.#stats.delivered++;
          return;
        }
        lastError = `the receiver answered ${res.statusCode}`;
        if (!retryable(res.statusCode)) break;
      } catch (err) {
        lastError = (err as Error).name === 'TimeoutError' ? `no answer within ${this.#cfg.timeoutMs} ms` : 'the receiver is unreachable';
      }
    }
    throw new Error(`${lastError} (after ${this.#cfg.attempts} attempt(s) at most)`);
  }
}

function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

// Not the bus's `sleep`: this timer is unref'd, so a pending retry never keeps the process alive.
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** The generic JSON notification: who, what, the rule, what changes, and where to decide. */
export function notificationJson(rec: ApprovalRecord, link: string, group: string): Record<string, unknown> {
  const req = rec.binding.request;
  return {
    type: 'approval.held',
    group,
    link,
    approval: {
      id: rec.id,
      status: rec.status,
      requestedAt: rec.requestedAt,
      expiresAt: rec.expiresAt,
      rule: rec.rule,
      reason: rec.reason ?? null,
      connection: rec.connection,
      kind: rec.binding.kind,
      requester: {
        subject: rec.principal.subject,
        sessionId: rec.principal.sessionId,
        identity: rec.principal.identity,
        repository: rec.principal.ci.repository ?? null,
      },
      ...(req && { request: { method: req.method, path: req.path, query: req.query } }),
      body: rec.binding.body,
      bindingSha256: rec.binding.digest,
      summary: changeSummary(rec),
      ...(rec.details && { details: rec.details }),
    },
  };
}

/** `&`, `<`, `>` are Slack/Mattermost control characters: escaped so pushed text cannot forge a link or a mention. */
function chatEscape(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** The chat message of a hold (Slack and Mattermost both take `text` with markdown). */
export function chatText(rec: ApprovalRecord, link: string): string {
  const who = rec.principal.ci.repository ? `${rec.principal.subject} (${rec.principal.ci.repository})` : rec.principal.subject;
  const lines = [
    `*Approval needed:* ${chatEscape(rec.binding.kind)} on ${chatEscape(rec.connection)} by ${chatEscape(who)}`,
    `Rule: ${chatEscape(rec.rule ?? 'none')}${rec.reason ? ` — ${chatEscape(rec.reason)}` : ''}`,
    ...changeSummary(rec).map((l) => `• ${chatEscape(l)}`),
    `Expires: ${rec.expiresAt}`,
  ];
  return `${lines.join('\n')}\n<${link}|Decide in the console>`;
}

function webhookBody(hook: Webhook, rec: ApprovalRecord, link: string): string {
  if (hook.format === 'json') return JSON.stringify(notificationJson(rec, link, hook.group));
  const text = chatText(rec, link);
  if (hook.format === 'slack') return JSON.stringify({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
  // Mattermost writes links as markdown.
  return JSON.stringify({ text: text.replace(/<([^|>]+)\|([^>]+)>$/, '[$2]($1)'), username: 'agentgate' });
}
