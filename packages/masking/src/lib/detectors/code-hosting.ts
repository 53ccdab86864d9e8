import { type DetectorDef, LB, TB } from './types.js';

/**
 * Source hosting, package registries and developer tools. GitHub classic
 * tokens carry a CRC32 checksum in their last 6 characters; it is NOT
 * validated: masking fails closed, so a malformed token is masked too.
 */
export const CODE_HOSTING: readonly DetectorDef[] = [
  { id: 'github-token', keywords: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'], pattern: `${LB}gh[pousr]_[A-Za-z0-9]{36,255}` },
  { id: 'github-fine-grained-token', keywords: ['github_pat_'], pattern: `${LB}github_pat_[A-Za-z0-9_]{60,255}` },
  { id: 'gitlab-pat', keywords: ['glpat-'], pattern: `${LB}glpat-[A-Za-z0-9_.-]{20,300}` },
  { id: 'gitlab-runner-token', keywords: ['glrt-'], pattern: `${LB}glrt-[A-Za-z0-9_.-]{20,300}` },
  { id: 'gitlab-deploy-token', keywords: ['gldt-'], pattern: `${LB}gldt-[A-Za-z0-9_.-]{20,300}` },
  {
    id: 'gitlab-token',
    keywords: ['glptt-', 'glcbt-', 'gloas-', 'glimt-', 'glft-', 'glsoat-', 'glagent-', 'glffct-', 'glwt-'],
    pattern: `${LB}gl(?:ptt|cbt|oas|imt|ft|soat|agent|ffct|wt)-[A-Za-z0-9_.-]{20,300}`,
  },
  { id: 'npm-token', keywords: ['npm_'], pattern: `${LB}npm_[A-Za-z0-9]{36}${TB}` },
  { id: 'pypi-token', keywords: ['pypi-ageichlwas5vcmc'], pattern: 'pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000}' },
  { id: 'rubygems-token', keywords: ['rubygems_'], pattern: `${LB}rubygems_[a-f0-9]{48}${TB}` },
  { id: 'docker-hub-token', keywords: ['dckr_pat_'], pattern: `${LB}dckr_pat_[A-Za-z0-9_-]{27,64}` },
  { id: 'atlassian-api-token', keywords: ['atatt3'], pattern: `${LB}ATATT3[A-Za-z0-9_=-]{150,300}` },
  { id: 'postman-api-key', keywords: ['pmak-'], pattern: `${LB}PMAK-[a-f0-9]{24}-[a-f0-9]{34}${TB}` },
  { id: 'linear-api-key', keywords: ['lin_api_'], pattern: `${LB}lin_api_[A-Za-z0-9]{40}${TB}` },
  { id: 'notion-token', keywords: ['ntn_'], pattern: `${LB}ntn_[0-9]{11}[A-Za-z0-9]{35}${TB}` },
  { id: 'sentry-token', keywords: ['sntryu_', 'sntrys_'], pattern: `${LB}sntry[us]_[A-Za-z0-9+/=_-]{40,1000}` },
  { id: 'pulumi-token', keywords: ['pul-'], pattern: `${LB}pul-[a-f0-9]{40}${TB}` },
];
