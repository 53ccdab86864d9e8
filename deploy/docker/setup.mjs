// One-shot setup job of the compose stack (and usable as a Kubernetes Job), run with the
// agentgate image:
//   node deploy/docker/setup.mjs index [--generate FILE]...
//       waits for each OpenSearch/Elasticsearch sink of AGENTGATE_CONFIG and applies the index
//       templates and the lifecycle policy (ISM / ILM) exactly as the audit writer does at start;
//       creates each --generate FILE that is missing with a random value (the demo's brokered
//       secrets); says, one line each, which file-backed secrets are missing and what that means.
//   node deploy/docker/setup.mjs dashboards URL FILE [--kibana]
//       waits for OpenSearch Dashboards (or Kibana) at URL and imports the saved objects in FILE
//       (idempotent: overwrite=true).
// Exit 0 when done, 1 when a step failed before its deadline (SETUP_TIMEOUT_MS, default 300000).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createSink } from '@agentgate/audit-writer';
import { loadConfig } from '@agentgate/config';

const deadline = Date.now() + Number(process.env.SETUP_TIMEOUT_MS || 300_000);
const log = (msg, fields = {}) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), name: 'setup', msg, ...fields })}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Retries `fn` until it resolves or the deadline passes; logs the first failure and then every 30 s. */
async function retry(what, fn) {
  let lastLog = 0;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${err.message}`);
      if (Date.now() - lastLog > 30_000) {
        log(`waiting for ${what}`, { reason: err.message });
        lastLog = Date.now();
      }
      await sleep(2000);
    }
  }
}

/** A random value that looks like what it stands for (so detectors and readers recognise it). */
function randomSecret(file) {
  const name = basename(file);
  const r = randomBytes(24).toString('base64url');
  if (name.includes('git')) return `ghs_${r}`;
  if (name.includes('model') || name.includes('key')) return `sk-demo-${r}`;
  return `pw-${r}`;
}

async function index(args) {
  const config = loadConfig();
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== '--generate' || !args[i + 1]) continue;
    const file = args[++i];
    if (existsSync(file)) continue;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${randomSecret(file)}\n`, { mode: 0o600 });
    log('created a missing secret with a random value', { file });
  }
  for (const s of config.secrets) {
    if ((s.source === 'file' || s.source === 'jwe-file') && !existsSync(s.path)) {
      const users = config.connections.filter((c) => c.credential?.ref === s.ref).map((c) => c.name);
      log(`secret "${s.ref}" is missing: create ${s.path} (the broker picks it up without a restart); until then ${users.length ? `connection(s) ${users.join(', ')} answer 503` : 'it is not masked'}`, { ref: s.ref, path: s.path });
    }
  }
  for (const sink of config.audit.sinks) {
    if (sink.type === 'local') continue;
    const target = createSink(sink, config.audit.indexPrefix);
    await retry(`${sink.type} at ${new URL(sink.url).host}`, () => target.setup());
    await target.close?.();
    log(`index templates and lifecycle policy applied`, { sink: sink.type, indexPrefix: config.audit.indexPrefix });
  }
}

async function dashboards(args) {
  const [url, file] = args;
  if (!url || !file) throw new Error('usage: setup.mjs dashboards URL FILE [--kibana]');
  const kibana = args.includes('--kibana');
  const xsrf = kibana ? { 'kbn-xsrf': 'true' } : { 'osd-xsrf': 'true' };
  await retry(`${kibana ? 'Kibana' : 'OpenSearch Dashboards'} at ${url}`, async () => {
    const r = await fetch(`${url}/api/status`, { headers: xsrf });
    if (!r.ok) throw new Error(`status ${r.status}`);
    const body = await r.json();
    const level = body?.status?.overall?.level ?? body?.status?.overall?.state;
    if (level && !['available', 'green'].includes(level)) throw new Error(`overall status ${level}`);
  });
  const form = new FormData();
  form.append('file', new Blob([readFileSync(file)], { type: 'application/ndjson' }), basename(file));
  const body = await retry('the saved objects import', async () => {
    const r = await fetch(`${url}/api/saved_objects/_import?overwrite=true`, { method: 'POST', headers: xsrf, body: form });
    const b = await r.json().catch(() => ({}));
    if (!r.ok || b.success === false) throw new Error(`import answered ${r.status}: ${JSON.stringify(b).slice(0, 500)}`);
    return b;
  });
  log('saved objects imported', { file, count: body.successCount });
}

const [step, ...rest] = process.argv.slice(2);
try {
  if (step === 'index') await index(rest);
  else if (step === 'dashboards') await dashboards(rest);
  else throw new Error('usage: setup.mjs index [--generate FILE]... | dashboards URL FILE [--kibana]');
  process.exit(0);
} catch (err) {
  log('setup failed', { error: err.message });
  process.exit(1);
}
