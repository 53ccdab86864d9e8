import { type DetectorDef, LB, TB } from './types.js';

/** Messaging, payments, AI providers and other SaaS APIs. */
export const SAAS: readonly DetectorDef[] = [
  {
    id: 'slack-token',
    keywords: ['xoxb-', 'xoxp-', 'xoxe-', 'xoxa-', 'xoxs-', 'xoxr-'],
    pattern: `${LB}xox[bpeasr]-[A-Za-z0-9-]{10,250}`,
  },
  { id: 'slack-app-token', keywords: ['xapp-'], pattern: `${LB}xapp-[0-9]-[A-Za-z0-9-]{10,250}` },
  {
    id: 'slack-webhook',
    keywords: ['hooks.slack.com'],
    pattern: 'https?://hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,200}',
  },
  {
    id: 'stripe-key',
    keywords: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_'],
    pattern: `${LB}[sr]k_(?:live|test)_[A-Za-z0-9]{10,247}`,
  },
  { id: 'stripe-webhook-secret', keywords: ['whsec_'], pattern: `${LB}whsec_[A-Za-z0-9+/=]{32,88}` },
  {
    id: 'openai-api-key',
    keywords: ['sk-proj-', 'sk-svcacct-', 'sk-admin-', 't3blbkfj'],
    pattern: `${LB}(?:sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,300}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})`,
  },
  { id: 'anthropic-api-key', keywords: ['sk-ant-'], pattern: `${LB}sk-ant-(?:api|admin|oat|ort)[0-9]{2}-[A-Za-z0-9_-]{32,200}` },
  { id: 'huggingface-token', keywords: ['hf_', 'api_org_'], pattern: `${LB}(?:hf|api_org)_[A-Za-z0-9]{34}${TB}` },
  { id: 'twilio-api-key', keywords: ['sk'], pattern: `${LB}SK[0-9a-fA-F]{32}${TB}` },
  { id: 'sendgrid-api-key', keywords: ['sg.'], pattern: `${LB}SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}` },
  { id: 'shopify-token', keywords: ['shpat_', 'shpss_', 'shpca_', 'shppa_'], pattern: `${LB}shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}${TB}` },
  {
    id: 'discord-webhook',
    keywords: ['discord'],
    pattern: 'https?://(?:ptb\\.|canary\\.)?discord(?:app)?\\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,68}',
  },
  {
    id: 'teams-webhook',
    keywords: ['webhook.office.com'],
    pattern: 'https?://[A-Za-z0-9-]{1,63}\\.webhook\\.office\\.com/webhookb2/[A-Za-z0-9@/_-]{40,400}',
  },
  { id: 'telegram-bot-token', keywords: [':aa'], pattern: `${LB}[0-9]{8,10}:AA[A-Za-z0-9_-]{33}${TB}` },
  {
    id: 'square-token',
    keywords: ['eaaa', 'sq0atp-', 'sq0csp-'],
    pattern: `${LB}(?:EAAA[A-Za-z0-9_-]{60}|sq0(?:atp|csp)-[A-Za-z0-9_-]{22,43})`,
  },
  // Keywords include the digit: "-us" alone is common (x-user-id) and would run the regex needlessly.
  {
    id: 'mailchimp-api-key',
    keywords: ['-us1', '-us2', '-us3', '-us4', '-us5', '-us6', '-us7', '-us8', '-us9'],
    pattern: `${LB}[0-9a-f]{32}-us[0-9]{1,2}${TB}`,
  },
];
