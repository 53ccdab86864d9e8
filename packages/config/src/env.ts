import { z } from 'zod';
import type { ConfigIssue } from './errors.js';
import { LOG_LEVELS } from './sections/log.js';

type Raw = Record<string, unknown>;

function obj(parent: Raw, key: string): Raw {
  const cur = parent[key];
  if (cur && typeof cur === 'object' && !Array.isArray(cur)) return cur as Raw;
  const fresh: Raw = {};
  // A non-object here is left for the schema to report against the file; the override still applies.
  parent[key] = fresh;
  return fresh;
}

function setSinkUrl(raw: Raw, type: 'opensearch' | 'elasticsearch', urls: string[]): void {
  // One node stays a string (as a file would say it); several nodes of one cluster are a list.
  const url = urls.length === 1 ? urls[0] : urls;
  const audit = obj(raw, 'audit');
  const sinks = Array.isArray(audit['sinks']) ? (audit['sinks'] as unknown[]) : [];
  const existing = sinks.find((s): s is Raw => !!s && typeof s === 'object' && (s as Raw)['type'] === type);
  if (existing) existing['url'] = url;
  else {
    // Keep the default local sink when the file named none: adding a sink must not remove the local trail.
    if (!Array.isArray(audit['sinks'])) sinks.push({ type: 'local', path: './.agentgate/audit' });
    sinks.push({ type, url });
  }
  audit['sinks'] = sinks;
}

interface Override {
  name: string;
  schema: z.ZodType;
  apply(raw: Raw, value: unknown): void;
}

const url = (protocol: RegExp) => z.url({ protocol, error: 'expected a URL' });
/** One URL, or several nodes of one cluster separated by commas. */
const nodeUrls = (protocol: RegExp) =>
  z
    .string()
    .transform((v) => v.split(',').map((u) => u.trim()))
    .pipe(z.array(url(protocol)).min(1).max(32, 'expected at most 32 node URLs'));
/** A port number given as an environment variable (a string of digits). */
const envPort = z
  .string()
  .regex(/^\d{1,5}$/, 'expected a port number 1-65535')
  .transform(Number)
  .pipe(z.number().int().min(1).max(65535, 'expected a port number 1-65535'));

/** Environment variables that override the file, each validated on its own so an error names the variable. */
export const ENV_OVERRIDES: readonly Override[] = [
  {
    name: 'PORT',
    schema: envPort,
    apply: (raw, v) => {
      obj(obj(raw, 'gateway'), 'listen')['port'] = v;
    },
  },
  {
    name: 'HOST',
    schema: z.string().min(1),
    apply: (raw, v) => {
      obj(obj(raw, 'gateway'), 'listen')['host'] = v;
    },
  },
  {
    name: 'NATS_URL',
    schema: url(/^(nats|tls|ws|wss)$/),
    apply: (raw, v) => {
      obj(raw, 'bus')['natsUrl'] = v;
    },
  },
  {
    name: 'AGENTGATE_DATA_DIR',
    schema: z.string().min(1),
    apply: (raw, v) => {
      obj(raw, 'bus')['dataDir'] = v;
    },
  },
  {
    // Scaled-out writers share one config file; each instance (compose service, Helm StatefulSet pod) names its chain partition.
    name: 'AUDIT_PARTITION',
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected letters, digits, _ or - (at most 64)'),
    apply: (raw, v) => {
      obj(raw, 'audit')['partition'] = v;
    },
  },
  {
    // Stream and KV replicas follow the NATS cluster's size, which the deployment (not the config file) knows.
    name: 'NATS_REPLICAS',
    schema: z
      .string()
      .regex(/^[1-5]$/, 'expected a replica count 1-5')
      .transform(Number),
    apply: (raw, v) => {
      obj(obj(raw, 'bus'), 'streams')['replicas'] = v;
    },
  },
  { name: 'OPENSEARCH_URL', schema: nodeUrls(/^https?$/), apply: (raw, v) => setSinkUrl(raw, 'opensearch', v as string[]) },
  { name: 'ELASTICSEARCH_URL', schema: nodeUrls(/^https?$/), apply: (raw, v) => setSinkUrl(raw, 'elasticsearch', v as string[]) },
  {
    name: 'LOG_LEVEL',
    schema: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join('|')}` }),
    apply: (raw, v) => {
      obj(raw, 'log')['level'] = v;
    },
  },
  {
    // One config file serves every service; each process of a host gets its own metrics port this way.
    name: 'METRICS_PORT',
    schema: envPort,
    apply: (raw, v) => {
      obj(obj(obj(raw, 'telemetry'), 'metrics'), 'listen')['port'] = v;
    },
  },
  {
    // The OpenTelemetry SDKs' own variable, so a deployment that sets it for every process configures agentgate too.
    name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    schema: url(/^https?$/),
    apply: (raw, v) => {
      obj(obj(raw, 'telemetry'), 'tracing')['otlpEndpoint'] = v;
    },
  },
];

/** Applies the set (non-empty) overrides to the raw parsed file in place; returns issues naming bad variables. */
export function applyEnvOverrides(raw: Raw, env: Record<string, string | undefined>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const o of ENV_OVERRIDES) {
    const value = env[o.name];
    if (value === undefined || value === '') continue;
    const r = o.schema.safeParse(value);
    if (!r.success) {
      issues.push({ path: o.name, message: `${r.error.issues[0]?.message ?? 'invalid'} (environment variable)` });
      continue;
    }
    o.apply(raw, r.data);
  }
  return issues;
}
