import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '@agentgate/config';

export type BrokerTestConfig = Pick<Config, 'connections' | 'secrets'>;

/** A secret value that looks like nothing else in the output (so a leak is unambiguous). */
export const SECRET = 'tok_S3cr3t+/=Value&with?url%chars_9f8e7d6c5b4a';

export function tmp(): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-broker-'));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function config(extra: Partial<BrokerTestConfig> = {}): BrokerTestConfig {
  return {
    connections: [
      { name: 'github', type: 'http', upstream: 'https://api.github.com', credential: { ref: 'gh', inject: 'bearer' } },
      { name: 'public', type: 'http', upstream: 'https://example.com' },
      { name: 'registry', type: 'registry', upstream: 'https://registry.example', credential: { ref: 'reg', inject: 'basic', username: 'ci' } },
      ...(extra.connections ?? []),
    ],
    secrets: [{ ref: 'gh', source: 'env', env: 'GH_TOKEN' }, { ref: 'reg', source: 'env', env: 'REG_PASSWORD' }, ...(extra.secrets ?? [])],
  } as BrokerTestConfig;
}

/** Every form in which a value could leak: raw, base64, base64url, URL-encoded, JSON-escaped. */
export function leakForms(value: string): string[] {
  return [
    value,
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
    encodeURIComponent(value),
    JSON.stringify(value).slice(1, -1),
  ];
}
