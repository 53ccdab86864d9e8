import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus } from '@agentgate/bus';
import { type AuditEvent, buildActionEvent, cleanSubject, encodeEvent } from '@agentgate/events';
import { createLogger, type Logger } from '@agentgate/log';
import type { AuditWriterConfig } from '../src/index.js';
import { deployDir } from '../src/lib/setup.js';

/** A quiet logger (set LOG_LEVEL=info to watch the writer). */
export function testLogger(): Logger {
  return createLogger({ name: 'audit-writer-test', level: (process.env['LOG_LEVEL'] as 'info' | undefined) ?? 'silent' });
}

export function tmp(name: string): string {
  return mkdtempSync(join(tmpdir(), `aw-${name}-`));
}

const principal = {
  issuer: 'https://ci.example',
  subject: 'repo:acme/app:ref:refs/heads/main',
  groups: ['ci'],
  claims: {},
  ci: { provider: 'github-actions' as const, repository: 'acme/app', actor: 'octo' },
  sessionId: 'sess-1',
  expiresAt: 2_000_000_000,
};

/** Test events spread over three UTC days, several sessions and action kinds. */
export function makeEvents(n: number, opts: { session?: string; startMs?: number } = {}): AuditEvent[] {
  const start = opts.startMs ?? Date.UTC(2025, 0, 1, 22, 0, 0);
  const out: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    // ~26 hours across the run: three daily indices.
    const now = new Date(start + Math.floor((i * 26 * 3600_000) / Math.max(n, 1)));
    const kind = i % 3 === 0 ? 'git.force_push' : i % 3 === 1 ? 'http.request' : 'kubernetes.delete';
    out.push(
      buildActionEvent({
        phase: i % 4 === 0 ? 'denied' : 'completed',
        principal: { ...principal, sessionId: opts.session ?? `sess-${i % 5}` },
        action: { id: `act-${i}`, kind, attributes: { n: i, path: `/x/${i}` } },
        ...(i % 4 === 0 && { decision: { effect: 'deny' as const, rule: 'no-force-push', reason: 'policy' } }),
        http: { request: { method: 'POST', bytes: i }, response: { status_code: 200 } },
        source: { ip: '10.0.0.1', port: 40000 + (i % 1000) },
        labels: { run: 'test', attempt: i % 2, retried: i % 2 === 0 },
        now,
      }),
    );
  }
  return out;
}

/** Publishes events to the clean stream (msg id = event id), 64 in flight. */
export async function publishEvents(bus: Bus, events: AuditEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 64) {
    await Promise.all(events.slice(i, i + 64).map((e) => bus.streams.publish(cleanSubject(e), encodeEvent(e), { msgId: e.event.id })));
  }
}

/** Writer configuration for tests: small batches, short ack wait. */
export function writerConfig(dataDir: string, sinks: AuditWriterConfig['audit']['sinks'], over: Partial<AuditWriterConfig['audit']> = {}): AuditWriterConfig {
  return {
    audit: {
      sinks,
      indexPrefix: 'agentgate-audit',
      partition: 'writer-0',
      ackWaitMs: 5_000,
      checkpoint: { everyEvents: 1000, everySeconds: 60, idleMs: 2000 },
      batch: { maxEvents: 500, maxBytes: 5 * 1024 * 1024, maxWaitMs: 200 },
      ...over,
    },
    bus: { dataDir, streams: { maxBytes: 1024 * 1024 * 1024, replicas: 1 } },
  };
}

export async function waitUntil(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 60_000, intervalMs = 200): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Every leaf field path (`a.b.c`) of a shipped index template's mappings (`deploy/<file>`) with its mapped type, `object` when it has none. */
export function templateLeafTypes(file: string): Map<string, string> {
  const t = JSON.parse(readFileSync(`${deployDir()}/${file}`, 'utf8')) as { template: { mappings: { properties: Record<string, unknown> } } };
  const out = new Map<string, string>();
  const walk = (props: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(props)) {
      const p = prefix ? `${prefix}.${k}` : k;
      const node = v as { properties?: Record<string, unknown>; type?: string };
      if (node.properties) walk(node.properties, p);
      else out.set(p, node.type ?? 'object');
    }
  };
  walk(t.template.mappings.properties, '');
  return out;
}
