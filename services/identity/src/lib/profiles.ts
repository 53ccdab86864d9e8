import { createHash } from 'node:crypto';
import type { IssuerConfig } from '../config.js';
import type { CiContext, CiProvider } from '@agentgate/events';

/** The issuer of github.com Actions tokens; other GitHub issuers (GHES) get their host in the session id. */
const GITHUB_PUBLIC_ISSUER = 'https://token.actions.githubusercontent.com';

export interface Profile {
  readonly provider: CiProvider;
  /** Claims the profile cannot work without. */
  readonly required: readonly string[];
  /** Claims copied into the principal. */
  readonly relevant: readonly string[];
  ci(claims: Record<string, unknown>): CiContext;
  /**
   * Names one pipeline run attempt, so that every action of one agent run
   * lands on one timeline and a re-run starts a new one.
   */
  sessionId(claims: Record<string, unknown>, issuer: string, token: string): string;
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

function compact(ci: CiContext): CiContext {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ci)) if (v !== undefined) out[k] = v;
  return out as unknown as CiContext;
}

const hostOf = (issuer: string): string => new URL(issuer).host;

/**
 * GitHub Actions: run_id is shared by every job of a workflow run and
 * run_attempt is bumped on each re-run, so repository + run_id + run_attempt
 * is one run attempt.
 */
const githubActions: Profile = {
  provider: 'github-actions',
  required: ['repository', 'run_id', 'run_attempt'],
  relevant: [
    'repository',
    'repository_id',
    'repository_owner',
    'ref',
    'ref_type',
    'sha',
    'workflow',
    'workflow_ref',
    'job_workflow_ref',
    'run_id',
    'run_attempt',
    'actor',
    // Stable across a rename of the login: approvals may compare it for four eyes.
    'actor_id',
    'environment',
    'event_name',
  ],
  ci: (c) =>
    compact({
      provider: 'github-actions',
      repository: str(c['repository']),
      ref: str(c['ref']),
      // job_workflow_ref names the (possibly reusable) workflow that actually runs the job.
      workflow: str(c['job_workflow_ref']) ?? str(c['workflow_ref']),
      run: str(c['run_id']),
      attempt: str(c['run_attempt']),
      actor: str(c['actor']),
      environment: str(c['environment']),
    }),
  sessionId: (c, issuer) => {
    const repo = issuer.replace(/\/+$/, '') === GITHUB_PUBLIC_ISSUER ? str(c['repository']) : `${hostOf(issuer)}/${str(c['repository'])}`;
    return `gh:${repo}:${str(c['run_id'])}:${str(c['run_attempt'])}`;
  },
};

/**
 * GitLab CI: there is no run-attempt counter. Retrying a job creates a new
 * job_id in the same pipeline, so pipeline_id + job_id is the closest
 * equivalent of one attempt (one agent job = one timeline; a retry is a new
 * one). Self-managed instances are common, so the host is part of the id.
 */
const gitlabCi: Profile = {
  provider: 'gitlab-ci',
  required: ['project_path', 'pipeline_id', 'job_id'],
  relevant: [
    'project_path',
    'project_id',
    'namespace_path',
    'ref',
    'ref_type',
    'ref_protected',
    'sha',
    'pipeline_id',
    'pipeline_source',
    'job_id',
    'user_login',
    // Stable across a rename of the login: four eyes compares it by default.
    'user_id',
    'environment',
    'ci_config_ref_uri',
  ],
  ci: (c) =>
    compact({
      provider: 'gitlab-ci',
      repository: str(c['project_path']),
      ref: str(c['ref']),
      workflow: str(c['ci_config_ref_uri']),
      run: str(c['pipeline_id']),
      attempt: str(c['job_id']),
      actor: str(c['user_login']),
      environment: str(c['environment']),
    }),
  sessionId: (c, issuer) => `gl:${hostOf(issuer)}/${str(c['project_path'])}:${str(c['pipeline_id'])}:${str(c['job_id'])}`,
};

/**
 * Any OIDC issuer: no run concept. The token id (jti) — or a hash of the
 * token when there is none — stands for one run: a CI job uses one token.
 */
const generic: Profile = {
  provider: 'generic',
  required: [],
  relevant: ['sub', 'client_id', 'azp', 'scope', 'jti'],
  ci: (c) => compact({ provider: 'generic', actor: str(c['sub']) }),
  sessionId: (c, issuer, token) => {
    const run = str(c['jti']) ?? createHash('sha256').update(token).digest('base64url').slice(0, 22);
    return `oidc:${hostOf(issuer)}:${str(c['sub'])}:${run}`;
  },
};

const PROFILES: Record<IssuerConfig['profile'], Profile> = {
  'github-actions': githubActions,
  'gitlab-ci': gitlabCi,
  generic,
};

export function profileFor(name: IssuerConfig['profile']): Profile {
  return PROFILES[name];
}
