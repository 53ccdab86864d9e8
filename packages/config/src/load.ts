import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { applyEnvOverrides } from './env.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { deepFreeze } from './lib/freeze.js';
import { flattenIssues } from '@agentgate/events';
import { type Config, configSchema } from './schema.js';

/** Where the configuration comes from. */
export interface LoadConfigOptions {
  /** File path; default `$AGENTGATE_CONFIG`, else `./agentgate.yaml`. */
  path?: string;
  /** Environment for overrides; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** YAML text to use instead of reading `path` (path then only labels messages). */
  text?: string;
}

/** The file `loadConfig` would read for these options. */
export function resolveConfigPath(opts: Pick<LoadConfigOptions, 'path' | 'env'> = {}): string {
  const env = opts.env ?? process.env;
  return resolve(opts.path ?? env['AGENTGATE_CONFIG'] ?? './agentgate.yaml');
}

/** Renders issues one per line: `  - path: message (line N)`. */
export function formatConfigErrors(issues: readonly ConfigIssue[], file?: string): string {
  const where = (i: ConfigIssue) => (i.line !== undefined ? ` (${file ? `${file}:` : 'line '}${i.line})` : '');
  return issues.map((i) => `  - ${i.path}: ${i.message}${where(i)}`).join('\n');
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ConfigError('ERR_CONFIG_NOT_FOUND', `configuration file not found: ${file}`, { cause, file });
    }
    throw new ConfigError('ERR_CONFIG_PARSE', `cannot read configuration file ${file}`, { cause, file });
  }
}

function parseYaml(text: string, file: string): { doc: Document; lines: LineCounter; raw: Record<string, unknown> } {
  const lines = new LineCounter();
  // prettyErrors off: the pretty form quotes the source line, which could hold something sensitive.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return { path: '(yaml)', message: e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, ''), line: pos.line, col: pos.col };
    });
    const first = issues[0]!;
    throw new ConfigError('ERR_CONFIG_PARSE', `YAML syntax error in ${file} at line ${first.line}, column ${first.col}: ${first.message}`, {
      issues,
      file,
    });
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) return { doc, lines, raw: {} };
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError('ERR_CONFIG_INVALID', `invalid configuration in ${file}:\n  - (root): expected a mapping of sections`, {
      issues: [{ path: '(root)', message: 'expected a mapping of sections' }],
      file,
    });
  }
  return { doc, lines, raw: value as Record<string, unknown> };
}

/** Line of the YAML node at `path` (or of its nearest existing parent). */
function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number | undefined {
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/**
 * Loads the configuration: reads the YAML file (or `text`), applies the
 * environment overrides (PORT, HOST, NATS_URL, AGENTGATE_DATA_DIR,
 * OPENSEARCH_URL, ELASTICSEARCH_URL, LOG_LEVEL), validates against the
 * schema with defaults, and returns a deep-frozen Config. Throws
 * ConfigError: ERR_CONFIG_NOT_FOUND, ERR_CONFIG_PARSE (YAML syntax, with
 * line) or ERR_CONFIG_INVALID (each bad key named by path; values never
 * echoed).
 */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = resolveConfigPath(opts);
  const text = opts.text ?? readText(file);
  const { doc, lines, raw } = parseYaml(text, file);
  const envIssues = applyEnvOverrides(raw, env);
  const r = configSchema.safeParse(raw);
  const issues: ConfigIssue[] = [...envIssues];
  if (!r.success) {
    for (const issue of r.error.issues) {
      flattenIssues([issue]).forEach((flat, k) => {
        // Unknown keys: point at the key itself (one flattened issue per key).
        const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[k] ?? ''] : issue.path;
        const line = lineOf(doc, lines, path);
        issues.push(line === undefined ? flat : { ...flat, line });
      });
    }
  }
  if (issues.length > 0 || !r.success) {
    throw new ConfigError('ERR_CONFIG_INVALID', `invalid configuration in ${file}:\n${formatConfigErrors(issues)}`, { issues, file });
  }
  return deepFreeze(r.data) as Config;
}
