import { randomBytes } from 'node:crypto';
import type { Bus } from '@agentgate/bus';
import { type Config, loadConfig } from '@agentgate/config';
import { type ModelDouble, startModelDouble } from '@agentgate/demo';
import type { AuditEvent } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { type CiIssuer, githubClaims, startCiIssuer, type TempDir, tempDir } from '@agentgate/testkit';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { auditEvents } from './harness.js';
import { closeHarness, startBackends } from './backends.js';

export { eventually } from './poll.js';

/** The gateway in front of a model double: in-process bus, real identity (CI issuer), secret broker and proxy. */
export interface LlmHarness {
  bus: Bus;
  issuer: CiIssuer;
  double: ModelDouble;
  /** The gateway's model API key (only the double may see it). */
  apiKey: string;
  /** Another brokered secret an agent might paste into a prompt. */
  dbPassword: string;
  proxy: ProxyHandle;
  config: Config;
  /** A CI token of session run `runId`. */
  token(runId?: string): Promise<string>;
  events(): Promise<AuditEvent[]>;
  /** Starts another proxy on the same bus (a replica, or one with other settings). */
  replica(overrides?: { promptSecrets?: 'mask' | 'refuse' }): Promise<ProxyHandle>;
  close(): Promise<void>;
}

function configText(double: string, issuer: string, dataDir: string, promptSecrets: string, upstreamHttp: string): string {
  return `
gateway: { name: llm-test }
bus: { dataDir: ${dataDir} }
identity:
  issuers:
    - { name: gh, issuer: ${issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
connections:
  - name: openai
    type: llm
    upstream: ${double}/v1
    credential: { ref: model-key, inject: bearer }
    options: { provider: openai }
  - name: anthropic
    type: llm
    upstream: ${double}
    credential: { ref: model-key, inject: header, header: x-api-key }
    options: { provider: anthropic }
  - name: api
    type: http
    upstream: ${upstreamHttp}
secrets:
  - { ref: model-key, source: env, env: LLM_TEST_MODEL_KEY }
  - { ref: db-password, source: env, env: LLM_TEST_DB_PASSWORD }
masking:
  promptSecrets: ${promptSecrets}
policy:
  default: deny
  rules:
    - name: small-models-only
      actions: ['llm.exchange']
      when: "!(attrs.model in ['gpt-4o-mini', 'claude-haiku'])"
      decision: deny
      reason: only the small models are allowed
    - name: token-budget
      actions: ['llm.exchange']
      when: "has(attrs.max_tokens) && attrs.max_tokens > 4000"
      decision: deny
      reason: at most 4000 tokens per answer
    - { name: llm-allowed, actions: ['llm.*'], decision: allow }
    - { name: http-allowed, actions: ['http.*'], decision: allow }
`;
}

export async function startLlmHarness(): Promise<LlmHarness> {
  const apiKey = `sk-gw-${randomBytes(18).toString('hex')}`;
  const dbPassword = `Pw-${randomBytes(12).toString('base64url')}`;
  const env = { LLM_TEST_MODEL_KEY: apiKey, LLM_TEST_DB_PASSWORD: dbPassword };
  const dir: TempDir = tempDir('llm-proxy');
  const double = await startModelDouble({ apiKey });
  const issuer = await startCiIssuer({ alg: 'RS256' });
  const mk = (promptSecrets: string): Config => loadConfig({ text: configText(double.url, issuer.issuer, dir.path, promptSecrets, double.url), env: {} });
  const config = mk('mask');
  const backends = await startBackends({ dataDir: `${dir.path}/bus`, name: 'llm-test' }, config, env);
  const { bus } = backends;
  const logger = createLogger({ name: 'proxy', level: 'warn', destination: { write: () => {} } });
  const proxies: ProxyHandle[] = [];
  const start = async (c: Config): Promise<ProxyHandle> => {
    const p = await startProxy(bus, c, logger, { host: '127.0.0.1', port: 0 });
    proxies.push(p);
    return p;
  };
  const proxy = await start(config);
  return {
    bus,
    issuer,
    double,
    apiKey,
    dbPassword,
    proxy,
    config,
    token: (runId = '7000000001') => issuer.mint(githubClaims({ repository: 'acme/app', run_id: runId })),
    events: () => auditEvents(bus),
    replica: (o = {}) => start(mk(o.promptSecrets ?? 'mask')),
    close: async () => {
      await closeHarness(proxies, backends, double, issuer);
      dir.cleanup();
    },
  };
}

/** Events of one action, by phase. */
export function phasesOf(events: AuditEvent[], actionId: string): Map<string, AuditEvent> {
  return new Map(events.filter((e) => e.agentgate.action.id === actionId).map((e) => [e.agentgate.action.phase, e]));
}
