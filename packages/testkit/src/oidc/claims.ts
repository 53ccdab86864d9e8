/** Claim sets shaped like real CI OIDC tokens, for tests. */

/** The issuer GitHub Actions uses for its OIDC tokens. */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/**
 * A GitHub-Actions-shaped claim set (repository, run, attempt, workflow …).
 * `iss`, `aud`, `iat`, `exp` are added by `mint()`.
 */
export function githubClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const repository = typeof overrides['repository'] === 'string' ? overrides['repository'] : 'acme/app';
  const ref = typeof overrides['ref'] === 'string' ? overrides['ref'] : 'refs/heads/main';
  const workflow = '.github/workflows/agent.yml';
  return {
    sub: `repo:${repository}:ref:${ref}`,
    repository,
    repository_id: '100001',
    repository_owner: repository.split('/')[0],
    repository_owner_id: '900001',
    repository_visibility: 'private',
    ref,
    ref_type: 'branch',
    sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    workflow: 'agent',
    workflow_ref: `${repository}/${workflow}@${ref}`,
    job_workflow_ref: `${repository}/${workflow}@${ref}`,
    run_id: '7000000001',
    run_number: '42',
    run_attempt: '1',
    actor: 'octocat',
    actor_id: '583231',
    event_name: 'push',
    runner_environment: 'github-hosted',
    ...overrides,
  };
}

/**
 * A GitLab-CI-shaped `id_tokens` claim set (project_path, pipeline_id, job_id …).
 * `iss`, `aud`, `iat`, `exp` are added by `mint()`.
 */
export function gitlabClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const projectPath = typeof overrides['project_path'] === 'string' ? overrides['project_path'] : 'acme/app';
  const ref = typeof overrides['ref'] === 'string' ? overrides['ref'] : 'main';
  return {
    sub: `project_path:${projectPath}:ref_type:branch:ref:${ref}`,
    namespace_id: '72',
    namespace_path: projectPath.split('/')[0],
    project_id: '20',
    project_path: projectPath,
    user_id: '1',
    user_login: 'alice',
    user_email: 'alice@example.com',
    pipeline_id: '1212',
    pipeline_source: 'push',
    job_id: '3434',
    ref,
    ref_type: 'branch',
    ref_path: `refs/heads/${ref}`,
    ref_protected: 'true',
    runner_id: '1',
    runner_environment: 'self-hosted',
    sha: '714a629c0b401fdce83e847fc9589983fc6f46bc',
    ...overrides,
  };
}
