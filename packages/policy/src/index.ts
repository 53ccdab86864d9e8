export { compilePolicy, APPROVAL_REQUIRED } from './compile.js';
export { formatDecision } from './format.js';
export { testPolicy, parseDescribedAction } from './test-policy.js';
export { PolicyError, POLICY_ERROR_CODES } from './errors.js';
export { lintPolicy, compileIssues, catalogueKinds } from './lint.js';
export { compileGlob, compileGlobs } from './glob.js';

export type { Policy, PolicyAction, PolicyDecision, CompilePolicyOptions } from './types.js';
export type { DescribedAction, PolicyTestResult } from './test-policy.js';
export type { PolicyErrorCode } from './errors.js';
export type { GlobDialect, GlobMatcher, GlobOptions, KindMatcher } from './glob.js';
export type { ActionCatalogue, CatalogueAdapter, CatalogueKind, LintablePolicyConfig, PolicyLintIssue } from './lint.js';
