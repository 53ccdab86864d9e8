/**
 * Keys whose values never reach a log line, wherever they appear (headers,
 * bodies, options objects). Header names appear both lower-case (Node) and
 * in canonical case (fetch/undici objects, hand-written literals).
 */
export const SENSITIVE_KEYS: readonly string[] = [
  'authorization',
  'Authorization',
  'proxy-authorization',
  'Proxy-Authorization',
  'cookie',
  'Cookie',
  'set-cookie',
  'Set-Cookie',
  'x-api-key',
  'X-Api-Key',
  'x-auth-token',
  'private-token',
  'PRIVATE-TOKEN',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'apiKey',
  'api_key',
  'password',
  'passwd',
  'secret',
  'clientSecret',
  'client_secret',
  'privateKey',
  'private_key',
  'credential',
  'credentials',
];

/** How many object levels below the log root are covered (`key`, `*.key`, … `*.*.*.*.*.key`). */
export const REDACT_DEPTH = 5;

function accessor(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** pino `redact.paths` for every sensitive key at depths 0..REDACT_DEPTH; pino compiles them once per logger. */
export function redactPaths(keys: readonly string[] = SENSITIVE_KEYS, depth = REDACT_DEPTH): string[] {
  const out: string[] = [];
  for (const key of keys) {
    for (let d = 0; d <= depth; d++) {
      const prefix = Array.from({ length: d }, () => '*').join('.');
      const acc = accessor(key);
      out.push(prefix ? `${prefix}${acc}` : acc.startsWith('.') ? acc.slice(1) : acc);
    }
  }
  return out;
}
