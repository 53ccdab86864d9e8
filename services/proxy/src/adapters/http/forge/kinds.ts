/**
 * The forge action kinds: the calls of a forge's API (GitHub, GitLab) that
 * weaken a repository's protection, reach its secrets or CI, or destroy
 * history, named so policy can deny or hold them. Every other call on a
 * forge connection stays `http.<method>`.
 */

/** Attributes every forge action carries (null when the call does not say). */
export const FORGE_BASE_ATTRS = {
  forge: "`github` or `gitlab` (the connection's `options.forge`)",
  api: '`rest` or `graphql`',
  method: 'the method as sent',
  path: 'the path after the connection name, decoded per segment',
  owner: 'GitHub owner (user or organisation) / GitLab namespace, when the path names it (else null)',
  repo: 'repository name (GitLab: project id as sent), when the path names it (else null)',
  branch: 'the branch the call is about (protection, file change, new default branch), else null',
  setting: "what the call changes, in the forge's words: protection sub-resource, repository field, secret/variable name, file path, mutation name …",
  operation: '`create`, `update`, `set` (create or update) or `delete`',
} as const;

const refAttrs = {
  ref: 'the full ref name (`refs/heads/main`)',
  refType: '`branch`, `tag` or `other`',
  old: "the ref's current commit in the mirror of `options.forge.git` (null when unknown)",
  new: 'the commit the call points it at (null for a deletion, or when a GraphQL call names it by node id)',
  force: 'the call asked for a forced update',
  fastForward: 'true only when `old` is an ancestor of `new` in the real history (false when it cannot be proven)',
  protected: "true when the ref matches the git connection's `options.protectedRefs`",
} as const;

/** One forge kind: when it is produced, and its own attributes beyond {@link FORGE_BASE_ATTRS}. */
export interface ForgeKindSpec {
  readonly summary: string;
  readonly attrs: Readonly<Record<string, string>>;
}

export const FORGE_KINDS = {
  'forge.branch_protection_change': {
    summary:
      'branch protection set or changed (GitHub `PUT/POST/PATCH …/branches/{b}/protection[/…]`, GitLab `POST/PATCH protected_branches|protected_tags`, GraphQL `create|updateBranchProtectionRule`)',
    attrs: {},
  },
  'forge.branch_protection_delete': {
    summary:
      'branch protection removed, or one of its settings removed (GitHub `DELETE …/protection[/…]`, GitLab unprotect, GraphQL `deleteBranchProtectionRule`)',
    attrs: {},
  },
  'forge.ruleset_change': { summary: 'a repository or organisation ruleset created or changed', attrs: { rulesetId: 'the ruleset id (null on creation)' } },
  'forge.ruleset_delete': { summary: 'a ruleset deleted', attrs: { rulesetId: 'the ruleset id' } },
  'forge.repo_delete': { summary: 'the repository (GitLab: project) deleted', attrs: {} },
  'forge.repo_rename': {
    summary: 'the repository renamed (`name` in `PATCH /repos/{o}/{r}`, GitLab `name`/`path`, GraphQL `updateRepository(name)`)',
    attrs: { newName: 'the new name' },
  },
  'forge.repo_transfer': { summary: 'the repository transferred to another owner', attrs: { newOwner: 'the new owner / namespace (null when not readable)' } },
  'forge.repo_visibility_change': {
    summary: 'visibility changed (`visibility` or `private`)',
    attrs: { visibility: '`public`, `private` or `internal` as asked' },
  },
  'forge.repo_archive': { summary: 'the repository archived or unarchived', attrs: { archived: 'true to archive' } },
  'forge.default_branch_change': { summary: 'the default branch changed (`branch` is the new one)', attrs: {} },
  'forge.ci_secret_write': {
    summary: 'a CI secret set or deleted (GitHub Actions, Dependabot, Codespaces; repository, environment or organisation)',
    attrs: {
      scope: '`repository`, `environment`, `organization`',
      environment: 'the environment, when scoped to one',
      store: '`actions`, `dependabot` or `codespaces`',
    },
  },
  'forge.ci_variable_write': {
    summary: 'a CI variable created, changed or deleted (GitHub Actions variables; GitLab CI/CD variables, masked ones included)',
    attrs: { scope: '`repository`, `environment`, `organization`, `group` (GitLab)', environment: 'the environment, when scoped to one' },
  },
  'forge.workflow_change': {
    summary:
      'a CI definition written through the API: `.github/workflows/*` or `.github/actions/*` via the contents API or `createCommitOnBranch`; `.gitlab-ci.yml` via the files or commits API',
    attrs: {},
  },
  'forge.deploy_key_add': {
    summary: 'a deploy key added (or enabled, GitLab)',
    attrs: { readOnly: 'false when the key may push (GitHub `read_only`, GitLab `can_push`)' },
  },
  'forge.webhook_add': {
    summary: 'a webhook added (repository, organisation, project)',
    attrs: { url: 'where the hook delivers (null when not in the body)' },
  },
  'forge.webhook_change': {
    summary: 'a webhook changed (its URL may now point elsewhere)',
    attrs: { url: 'where the hook delivers (null when not in the body)' },
  },
  'forge.permission_change': {
    summary: 'a collaborator, invitation, team or member given, changed or removed access',
    attrs: {
      target: '`user`, `team`, `group` or `invitation`',
      name: 'who (user name, team slug, id)',
      permission: 'the permission / access level asked (null when not in the body)',
    },
  },
  'forge.release_delete': { summary: 'a release (or a release asset) deleted', attrs: { target: '`release` or `asset`' } },
  'forge.ref_update': {
    summary: 'a branch moved through the API as a fast-forward (proven in the mirror, or `force` not asked: the forge refuses a non-fast-forward itself)',
    attrs: refAttrs,
  },
  'forge.ref_force_update': { summary: 'a branch moved through the API with `force` where the mirror does not prove a fast-forward', attrs: refAttrs },
  'forge.ref_delete': { summary: 'a branch (or other non-tag ref) deleted through the API', attrs: refAttrs },
  'forge.tag_move': { summary: 'a tag pointed elsewhere through the API (whatever the ancestry)', attrs: refAttrs },
  'forge.tag_delete': { summary: 'a tag deleted through the API', attrs: refAttrs },
  'forge.graphql_mutation': { summary: 'any other GraphQL mutation (`setting` is the mutation field)', attrs: { mutation: 'the mutation field name' } },
} as const satisfies Record<string, ForgeKindSpec>;

export type ForgeKind = keyof typeof FORGE_KINDS;

/** Most destructive first: a call of several actions (a GraphQL document, a PATCH of several fields) is named by its most destructive one. */
export const FORGE_SEVERITY: readonly ForgeKind[] = [
  'forge.repo_delete',
  'forge.repo_transfer',
  'forge.branch_protection_delete',
  'forge.ruleset_delete',
  'forge.ref_force_update',
  'forge.ref_delete',
  'forge.tag_move',
  'forge.tag_delete',
  'forge.repo_visibility_change',
  'forge.ci_secret_write',
  'forge.workflow_change',
  'forge.deploy_key_add',
  'forge.webhook_add',
  'forge.webhook_change',
  'forge.permission_change',
  'forge.branch_protection_change',
  'forge.ruleset_change',
  'forge.ci_variable_write',
  'forge.repo_rename',
  'forge.default_branch_change',
  'forge.repo_archive',
  'forge.release_delete',
  'forge.ref_update',
  'forge.graphql_mutation',
];
