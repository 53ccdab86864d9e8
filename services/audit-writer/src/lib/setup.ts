import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AuditWriterError } from '../errors.js';
import type { SearchHttp } from '../sinks/http-adapter.js';
import { checkpointIndex, indexPattern } from './index-names.js';

/** deploy/ of the repository (src/lib and dist/lib sit at the same depth). */
export function deployDir(): string {
  return process.env['AGENTGATE_DEPLOY_DIR'] ?? fileURLToPath(new URL('../../../../deploy/', import.meta.url));
}

function load(kind: 'opensearch' | 'elasticsearch', file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(`${deployDir()}/${kind}/${file}`, 'utf8')) as Record<string, unknown>;
}

/** The files of deploy/<kind>/ with their index patterns rewritten for `prefix`. */
export function setupDocuments(kind: 'opensearch' | 'elasticsearch', prefix: string) {
  const events: Record<string, unknown> = { ...load(kind, 'index-template.json'), index_patterns: [indexPattern(prefix)] };
  const checkpoints = { ...load(kind, 'checkpoints-template.json'), index_patterns: [checkpointIndex(prefix)] };
  const lifecycle = load(kind, kind === 'opensearch' ? 'ism-policy.json' : 'ilm-policy.json');
  if (kind === 'opensearch') {
    const policy = lifecycle['policy'] as Record<string, unknown>;
    policy['ism_template'] = [{ index_patterns: [indexPattern(prefix)], priority: 100 }];
  } else {
    const settings = (events['template'] as { settings: { index: Record<string, unknown> } }).settings.index;
    settings['lifecycle'] = { name: prefix };
  }
  return { events, checkpoints, lifecycle };
}

function check(status: number, body: unknown, what: string): void {
  if (status >= 200 && status < 300) return;
  // Start-up stops on a template error: indexing without the ECS mappings would corrupt field types.
  throw new AuditWriterError('ERR_SINK_SETUP', `${what} answered ${status}: ${JSON.stringify(body).slice(0, 500)}`);
}

/** What setup did about the lifecycle policy. */
export type LifecycleStatus = 'applied' | 'unchanged' | 'unavailable';

/**
 * Applies the index templates and the lifecycle policy (ILM on Elasticsearch, ISM on
 * OpenSearch), idempotently: templates are PUT (same body → same result); the ISM policy
 * is created, or updated with its seq_no/primary_term only when it differs. A node
 * without the ISM plugin gets the templates and `unavailable` for the policy.
 */
export async function applySetup(kind: 'opensearch' | 'elasticsearch', http: SearchHttp, prefix: string): Promise<LifecycleStatus> {
  const docs = setupDocuments(kind, prefix);
  let lifecycle: LifecycleStatus = 'applied';
  if (kind === 'elasticsearch') {
    const r = await http.request('PUT', `/_ilm/policy/${prefix}`, docs.lifecycle);
    check(r.status, r.body, 'ILM policy');
  } else {
    const path = `/_plugins/_ism/policies/${prefix}`;
    const cur = await http.request('GET', path);
    if (cur.status === 400 || (cur.status === 404 && !JSON.stringify(cur.body).includes('policy'))) {
      lifecycle = 'unavailable';
    } else if (cur.status === 200) {
      const b = cur.body as { _seq_no: number; _primary_term: number; policy: Record<string, unknown> };
      const want = docs.lifecycle['policy'] as Record<string, unknown>;
      if (JSON.stringify(b.policy['states']) === JSON.stringify(want['states'])) lifecycle = 'unchanged';
      else {
        const r = await http.request('PUT', path, docs.lifecycle, { query: { if_seq_no: String(b._seq_no), if_primary_term: String(b._primary_term) } });
        check(r.status, r.body, 'ISM policy');
      }
    } else {
      const r = await http.request('PUT', path, docs.lifecycle);
      // 409: another writer created it between our GET and PUT — same file, fine.
      if (r.status !== 409) check(r.status, r.body, 'ISM policy');
    }
  }
  const t1 = await http.request('PUT', `/_index_template/${prefix}`, docs.events);
  check(t1.status, t1.body, 'index template');
  const t2 = await http.request('PUT', `/_index_template/${prefix}-checkpoints`, docs.checkpoints);
  check(t2.status, t2.body, 'checkpoints template');
  return lifecycle;
}
