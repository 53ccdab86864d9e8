/**
 * Detector fixtures. Every token is assembled at runtime from a seeded
 * generator, so the repository never holds a string that looks like a live
 * credential (secret scanners stay quiet, nothing real can leak).
 */

export const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const HEX = '0123456789abcdef';
export const DIGITS = '0123456789';
export const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const B64 = `${ALNUM}+/`;
export const B64URL = `${ALNUM}_-`;
export const BECH32 = 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L';

let state = 20240601;
/** Deterministic pseudo-random string over an alphabet (xorshift32). */
export function gen(alphabet: string, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out += alphabet[(state >>> 0) % alphabet.length];
  }
  return out;
}

export interface Positive {
  /** Text containing a credential. */
  readonly text: string;
  /** The part that must not survive masking. */
  readonly secret: string;
}

export interface DetectorFixture {
  readonly positive: readonly Positive[];
  readonly negative: readonly string[];
}

function p(before: string, secret: string, after = ''): Positive {
  return { text: `${before}${secret}${after}`, secret };
}

function pem(kind: string, lines: number, nl = '\n'): { block: string; body: string } {
  const body = Array.from({ length: lines }, () => gen(B64, 64)).join(nl);
  return { block: `-----BEGIN ${kind}-----${nl}${body}${nl}-----END ${kind}-----`, body };
}

const rsa = pem('RSA PRIVATE KEY', 20);
const openssh = pem('OPENSSH PRIVATE KEY', 6, '\\n');
const truncated = pem('PRIVATE KEY', 4);
const cert = pem('CERTIFICATE', 4);

export const FIXTURES: Record<string, DetectorFixture> = {
  'github-token': {
    positive: [p('GITHUB_TOKEN=', `ghp_${gen(ALNUM, 36)}`), p('x-access-token ', `ghs_${gen(ALNUM, 36)}`, '\n')],
    negative: [`ghp_${gen(ALNUM, 20)}`, `xghp_${gen(ALNUM, 36)}`],
  },
  'github-fine-grained-token': {
    positive: [p('token: ', `github_pat_${gen(ALNUM, 22)}_${gen(ALNUM, 59)}`)],
    negative: [`github_pat_${gen(ALNUM, 10)}`],
  },
  'gitlab-pat': { positive: [p('PRIVATE-TOKEN: ', `glpat-${gen(B64URL, 20)}`)], negative: ['glpat-short'] },
  'gitlab-runner-token': { positive: [p('--token ', `glrt-${gen(B64URL, 24)}`)], negative: ['glrt-abc'] },
  'gitlab-deploy-token': { positive: [p('', `gldt-${gen(B64URL, 20)}`)], negative: ['gldt-abc'] },
  'gitlab-token': { positive: [p('trigger ', `glptt-${gen(HEX, 40)}`)], negative: [`glxyz-${gen(ALNUM, 30)}`] },
  'npm-token': {
    positive: [p('//registry.npmjs.org/:_authToken=', `npm_${gen(ALNUM, 36)}`, '\n')],
    negative: ['npm_install_script', `npm_${gen(ALNUM, 37)}`],
  },
  'pypi-token': { positive: [p('password = ', `pypi-AgEIcHlwaS5vcmc${gen(B64URL, 70)}`)], negative: ['pypi-AgEIcHlwaS5vcmcshort'] },
  'rubygems-token': { positive: [p('', `rubygems_${gen(HEX, 48)}`)], negative: [`rubygems_${gen(HEX, 20)}`] },
  'docker-hub-token': { positive: [p('-p ', `dckr_pat_${gen(B64URL, 27)}`)], negative: ['dckr_pat_abc'] },
  'atlassian-api-token': { positive: [p('', `ATATT3${gen(B64URL, 186)}`)], negative: ['ATATT3xFfGF0'] },
  'postman-api-key': { positive: [p('', `PMAK-${gen(HEX, 24)}-${gen(HEX, 34)}`)], negative: [`PMAK-${gen(HEX, 24)}`] },
  'linear-api-key': { positive: [p('', `lin_api_${gen(ALNUM, 40)}`)], negative: [`lin_api_${gen(ALNUM, 10)}`] },
  'notion-token': { positive: [p('', `ntn_${gen(DIGITS, 11)}${gen(ALNUM, 35)}`)], negative: [`ntn_x${gen(ALNUM, 45)}`] },
  'sentry-token': { positive: [p('', `sntryu_${gen(HEX, 64)}`)], negative: [`sntryu_${gen(HEX, 10)}`] },
  'pulumi-token': { positive: [p('', `pul-${gen(HEX, 40)}`)], negative: ['pul-request merged'] },
  'aws-access-key-id': {
    positive: [p('aws_access_key_id = ', `AKIA${gen(B32, 16)}`), p('', `ASIA${gen(B32, 16)}`, ',')],
    negative: [`AKIA${gen(B32, 10)}`, `AKIA${gen(B32, 17)}`],
  },
  'google-api-key': { positive: [p('key=', `AIza${gen(B64URL, 35)}`)], negative: [`AIza${gen(ALNUM, 10)}`] },
  'google-oauth-client-secret': { positive: [p('', `GOCSPX-${gen(B64URL, 28)}`)], negative: ['GOCSPX-abc'] },
  'azure-client-secret': {
    positive: [p('', `${gen(ALNUM, 3)}8Q~${gen(`${ALNUM}_~.-`, 34)}`)],
    negative: [`abcQ~${gen(ALNUM, 34)}`],
  },
  'digitalocean-token': { positive: [p('', `dop_v1_${gen(HEX, 64)}`)], negative: [`dop_v1_${gen(HEX, 32)}`] },
  'databricks-token': { positive: [p('', `dapi${gen(HEX, 32)}`)], negative: [`dapi${gen(HEX, 16)}`] },
  'vault-token': { positive: [p('VAULT_TOKEN=', `hvs.${gen(B64URL, 90)}`)], negative: ['hvs.short'] },
  'heroku-api-key': { positive: [p('', `HRKU-AA${gen(B64URL, 58)}`)], negative: [`HRKU-AA${gen(ALNUM, 20)}`] },
  'fly-token': { positive: [p('', `fo1_${gen(B64URL, 43)}`)], negative: ['fo1_abc'] },
  'terraform-cloud-token': {
    positive: [p('', `${gen(ALNUM, 14)}.atlasv1.${gen(B64URL, 67)}`)],
    negative: [`${gen(ALNUM, 14)}.atlasv1.short`],
  },
  'doppler-token': { positive: [p('', `dp.pt.${gen(ALNUM, 43)}`)], negative: [`dp.pt.${gen(ALNUM, 10)}`] },
  'onepassword-service-token': { positive: [p('', `ops_eyJ${gen(B64, 300)}`)], negative: [`ops_eyJ${gen(ALNUM, 20)}`] },
  'dynatrace-token': { positive: [p('', `dt0c01.${gen(UPPER_ALNUM, 24)}.${gen(UPPER_ALNUM, 64)}`)], negative: [`dt0c01.${gen(UPPER_ALNUM, 24)}`] },
  'newrelic-api-key': { positive: [p('', `NRAK-${gen(UPPER_ALNUM, 27)}`)], negative: [`NRAK-${gen(UPPER_ALNUM, 10)}`] },
  'grafana-cloud-token': { positive: [p('', `glc_${gen(B64, 60)}==`)], negative: [`glc_${gen(ALNUM, 10)}`] },
  'grafana-service-account-token': {
    positive: [p('', `glsa_${gen(ALNUM, 32)}_${gen(HEX, 8)}`)],
    negative: [`glsa_${gen(ALNUM, 32)}`],
  },
  'planetscale-token': { positive: [p('', `pscale_tkn_${gen(ALNUM, 43)}`)], negative: ['pscale_tkn_short'] },
  'age-secret-key': { positive: [p('', `AGE-SECRET-KEY-1${gen(BECH32, 58)}`)], negative: [`AGE-SECRET-KEY-1${gen(BECH32, 20)}`] },
  'slack-token': {
    positive: [p('SLACK_BOT_TOKEN=', `xoxb-${gen(DIGITS, 12)}-${gen(DIGITS, 13)}-${gen(ALNUM, 24)}`)],
    negative: ['xoxb-123'],
  },
  'slack-app-token': {
    positive: [p('', `xapp-1-${gen(UPPER_ALNUM, 11)}-${gen(DIGITS, 13)}-${gen(HEX, 64)}`)],
    negative: ['xapp-1-abc'],
  },
  'slack-webhook': {
    positive: [p('', `https://hooks.slack.com/services/T${gen(UPPER_ALNUM, 10)}/B${gen(UPPER_ALNUM, 10)}/${gen(ALNUM, 24)}`)],
    negative: ['see https://hooks.slack.com/services/ for docs'],
  },
  'stripe-key': { positive: [p('', `sk_live_${gen(ALNUM, 99)}`)], negative: [`sk_live_${gen(ALNUM, 5)}`] },
  'stripe-webhook-secret': { positive: [p('', `whsec_${gen(ALNUM, 32)}`)], negative: ['whsec_abc'] },
  'openai-api-key': {
    positive: [p('OPENAI_API_KEY=', `sk-proj-${gen(B64URL, 156)}`), p('', `sk-${gen(ALNUM, 20)}T3BlbkFJ${gen(ALNUM, 20)}`)],
    negative: ['sk-proj-abc'],
  },
  'anthropic-api-key': { positive: [p('x-api-key: ', `sk-ant-api03-${gen(B64URL, 93)}AA`)], negative: ['sk-ant-api03-short'] },
  'huggingface-token': { positive: [p('', `hf_${gen(LETTERS, 34)}`)], negative: [`hf_${gen(LETTERS, 20)}`, 'self.hf_model_name'] },
  'twilio-api-key': { positive: [p('', `SK${gen(HEX, 32)}`)], negative: [`SK${gen(HEX, 20)}`, `TASK${gen(HEX, 32)}`] },
  'sendgrid-api-key': { positive: [p('', `SG.${gen(B64URL, 22)}.${gen(B64URL, 43)}`)], negative: [`SG.${gen(ALNUM, 22)}`] },
  'shopify-token': { positive: [p('', `shpat_${gen(HEX, 32)}`)], negative: [`shpat_${gen(HEX, 16)}`] },
  'discord-webhook': {
    positive: [p('', `https://discord.com/api/webhooks/${gen(DIGITS, 18)}/${gen(B64URL, 68)}`)],
    negative: ['https://discord.com/api/webhooks/123/abc'],
  },
  'teams-webhook': {
    positive: [p('', `https://contoso.webhook.office.com/webhookb2/${gen(ALNUM, 60)}`)],
    negative: ['https://contoso.webhook.office.com/webhookb2/abc'],
  },
  'telegram-bot-token': {
    positive: [p('', `${gen(DIGITS, 10)}:AA${gen(B64URL, 33)}`)],
    negative: [`${gen(DIGITS, 10)}:AB${gen(ALNUM, 33)}`],
  },
  'square-token': { positive: [p('', `EAAA${gen(B64URL, 60)}`)], negative: [`EAAA${gen(ALNUM, 10)}`] },
  'mailchimp-api-key': { positive: [p('', `${gen(HEX, 32)}-us12`)], negative: [`${gen(HEX, 32)}-eu1`] },
  'private-key': {
    positive: [
      p('', rsa.block),
      { text: `{"private_key": "${openssh.block}\\n"}`, secret: openssh.body },
      { text: `log: -----BEGIN PRIVATE KEY-----\n${truncated.body}\n(truncated)`, secret: truncated.body },
    ],
    negative: [cert.block, '-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----'],
  },
  jwt: {
    positive: [p('id_token=', `eyJ${gen(B64URL, 30)}.eyJ${gen(B64URL, 60)}.${gen(B64URL, 43)}`)],
    negative: [`eyJ${gen(ALNUM, 30)}`, `xeyJ${gen(ALNUM, 30)}.eyJ${gen(ALNUM, 30)}.abc`],
  },
  'url-credentials': {
    positive: [p('DATABASE_URL=postgres://app:', gen(ALNUM, 16), '@db.internal:5432/app')],
    negative: ['https://example.com:8443/path', 'postgres://app:${DB_PASS}@db', 'mailto:someone@example.com'],
  },
  'authorization-header': {
    positive: [p('Authorization: Basic ', Buffer.from(`ci:${gen(ALNUM, 20)}`).toString('base64'), '\r\n')],
    negative: ['Authorization: Bearer <token>', 'authorization: required'],
  },
  'bearer-token': {
    positive: [p('sent header Bearer ', gen(ALNUM, 40), ' to upstream')],
    negative: ['uses Bearer authentication scheme', 'Bearer ${TOKEN}'],
  },
  'cookie-header': {
    positive: [p('Cookie: session=', gen(ALNUM, 32), '\r\n'), p('set-cookie: sid=', gen(ALNUM, 24), '; HttpOnly')],
    negative: ['put the cookie jar away', 'cookie: no'],
  },
  'aws-secret-access-key': {
    positive: [p('aws_secret_access_key = ', gen(B64, 40), '\n')],
    negative: [`aws_secret_access_key = ${gen(ALNUM, 20)}`],
  },
  'generic-secret': {
    positive: [
      p('DB_PASSWORD=', `${gen(ALNUM, 10)}!${gen(ALNUM, 5)}`, '\n'),
      p('{"client_secret": "', gen(ALNUM, 32), '"}'),
      p('api_key: ', gen(B64URL, 24), '\n'),
      p('const githubToken = "', gen(ALNUM, 20), '";'),
    ],
    negative: [
      'password: process.env.DB_PASSWORD',
      'token: ${{ secrets.GITHUB_TOKEN }}',
      'max_tokens: 4096',
      'password = "changeme"',
      'secret_name: my-secret',
      'password: getPassword()',
      'password: xxxxxxxxxxxx',
      'token_type: Bearer',
      'PASSWORD=aaaaaaaaaaaa',
      'api_key = API_KEY_FROM_ENV',
      'password: correcthorse',
      '"input_tokens": 1234567890',
    ],
  },
};
