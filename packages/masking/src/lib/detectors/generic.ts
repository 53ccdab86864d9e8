import { isPlaceholder, looksLikeReference, shannonEntropy } from '../entropy.js';
import type { DetectorDef, ValidateOptions } from './types.js';

// ASCII only, no \s (on raw bytes \s would match 0xA0, a UTF-8 continuation byte).
const VALUE = 'A-Za-z0-9+/=_.~!@#$%^&*?-';
const SEP = `["']?[ \\t]{0,4}(?::=|=>|[:=])[ \\t]{0,4}["']?`;

function notPlaceholder(secret: string): boolean {
  return !isPlaceholder(secret);
}

function highEntropy(secret: string, opts: ValidateOptions): boolean {
  return secret.length >= opts.minLength && !isPlaceholder(secret) && !looksLikeReference(secret) && shannonEntropy(secret) >= opts.minEntropy;
}

/** Formats recognised by structure or context rather than a vendor prefix. */
export const GENERIC: readonly DetectorDef[] = [
  {
    // Body capped at 6000 chars (a 4096-bit RSA key in PKCS#8 PEM is ~3.3k); no END needed,
    // so a truncated key in a log is masked too.
    id: 'private-key',
    keywords: ['-----begin'],
    pattern:
      '-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\\r\\n\\t \\\\:,.]|-(?!----)){0,6000}(?:-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----)?',
  },
  {
    // The lookbehind makes every eyJ run start one attempt only, which keeps
    // adversarial "eyJeyJeyJ…" input linear.
    id: 'jwt',
    keywords: ['eyj'],
    pattern: '(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{6,1024}\\.eyJ[A-Za-z0-9_-]{6,4096}\\.[A-Za-z0-9_-]{0,1024}',
  },
  {
    id: 'url-credentials',
    keywords: ['://'],
    // Starts at "://" (the scheme is not masked): a literal first lets the regex engine skip ahead fast.
    pattern: "://[A-Za-z0-9._~%!$&'()*+,;=-]{0,128}:(?<s>[A-Za-z0-9._~%!$&'()*+,;=-]{1,256})@",
    validate: notPlaceholder,
  },
  {
    id: 'authorization-header',
    keywords: ['authorization'],
    caseInsensitive: true,
    pattern: `authorization${SEP}(?:(?:bearer|basic|token|bot|digest|negotiate)[ \\t]{1,4})?(?<s>[A-Za-z0-9._~+/=:-]{8,4096})`,
    validate: notPlaceholder,
  },
  {
    id: 'bearer-token',
    keywords: ['bearer'],
    caseInsensitive: true,
    pattern: '(?<![A-Za-z0-9])bearer[ \\t]{1,4}(?<s>[A-Za-z0-9._~+/-]{16,4096}={0,2})',
    validate: (s, o) => notPlaceholder(s) && shannonEntropy(s) >= o.minEntropy,
  },
  {
    id: 'cookie-header',
    keywords: ['cookie:'],
    caseInsensitive: true,
    pattern: "(?<![A-Za-z0-9-])(?:set-)?cookie:[ \\t]{0,4}(?<s>[A-Za-z0-9!#$%&'()*+./:<=>?@^_`|~ ;,-]{8,4096})",
  },
  {
    id: 'aws-secret-access-key',
    keywords: ['secret_access_key', 'secretaccesskey'],
    caseInsensitive: true,
    pattern: `(?:secret_access_key|secretaccesskey)${SEP}(?<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])`,
  },
  {
    id: 'generic-secret',
    keywords: [
      'passwd',
      'password',
      'pwd',
      'secret',
      'token',
      'apikey',
      'api_key',
      'api-key',
      'accesskey',
      'access_key',
      'access-key',
      'authkey',
      'auth_key',
      'auth-key',
      'privatekey',
      'private_key',
      'private-key',
      'credential',
    ],
    caseInsensitive: true,
    // The lookbehind keeps our own tags (`[REDACTED:secret:conn/x]`) from being re-masked; it sits
    // after the keyword so the pattern starts with literals, which the regex engine scans for fast.
    pattern: `(?:passwd|password|pwd|secret(?<!\\[REDACTED:secret)|token|api[_-]?key|access[_-]?key|auth[_-]?key|private[_-]?key|credentials?)(?:[_.-]?(?:key|value|base|secret|token|id))?${SEP}(?<s>[${VALUE}]{1,200})(?![(\\[${VALUE}])`,
    validate: highEntropy,
    priority: 1,
  },
];
