import { type DetectorDef, LB, TB } from './types.js';

/** Cloud providers and infrastructure tooling. */
export const CLOUD: readonly DetectorDef[] = [
  { id: 'aws-access-key-id', keywords: ['akia', 'asia', 'abia', 'acca'], pattern: `${LB}(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}${TB}` },
  { id: 'google-api-key', keywords: ['aiza'], pattern: `${LB}AIza[A-Za-z0-9_-]{35}` },
  { id: 'google-oauth-client-secret', keywords: ['gocspx-'], pattern: `${LB}GOCSPX-[A-Za-z0-9_-]{28}` },
  // Azure AD client secrets: 3 chars, a digit, "Q~", then 31-34 chars.
  { id: 'azure-client-secret', keywords: ['q~'], pattern: `${LB}[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}` },
  { id: 'digitalocean-token', keywords: ['dop_v1_', 'doo_v1_', 'dor_v1_'], pattern: `${LB}do[por]_v1_[a-f0-9]{64}${TB}` },
  { id: 'databricks-token', keywords: ['dapi'], pattern: `${LB}dapi[a-f0-9]{32}(?:-[0-9])?${TB}` },
  { id: 'vault-token', keywords: ['hvs.', 'hvb.', 'hvr.'], pattern: `${LB}hv[sbr]\\.[A-Za-z0-9_-]{24,255}` },
  { id: 'heroku-api-key', keywords: ['hrku-aa'], pattern: `${LB}HRKU-AA[A-Za-z0-9_-]{58}` },
  { id: 'fly-token', keywords: ['fo1_'], pattern: `${LB}fo1_[A-Za-z0-9_-]{43}` },
  { id: 'terraform-cloud-token', keywords: ['.atlasv1.'], pattern: `${LB}[A-Za-z0-9]{14}\\.atlasv1\\.[A-Za-z0-9_=-]{60,70}` },
  {
    id: 'doppler-token',
    keywords: ['dp.pt.', 'dp.st.', 'dp.sa.', 'dp.ct.', 'dp.scim.', 'dp.audit.'],
    pattern: `${LB}dp\\.(?:pt|st|sa|ct|scim|audit)\\.[A-Za-z0-9]{40,44}`,
  },
  { id: 'onepassword-service-token', keywords: ['ops_eyj'], pattern: `${LB}ops_eyJ[A-Za-z0-9+/=_-]{100,2000}` },
  { id: 'dynatrace-token', keywords: ['dt0c01.'], pattern: `${LB}dt0c01\\.[A-Z0-9]{24}\\.[A-Z0-9]{64}` },
  { id: 'newrelic-api-key', keywords: ['nrak-'], pattern: `${LB}NRAK-[A-Z0-9]{27}${TB}` },
  { id: 'grafana-cloud-token', keywords: ['glc_'], pattern: `${LB}glc_[A-Za-z0-9+/]{32,400}={0,2}` },
  { id: 'grafana-service-account-token', keywords: ['glsa_'], pattern: `${LB}glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}${TB}` },
  { id: 'planetscale-token', keywords: ['pscale_'], pattern: `${LB}pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.-]{32,64}` },
  { id: 'age-secret-key', keywords: ['age-secret-key-1'], pattern: `AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}` },
];
