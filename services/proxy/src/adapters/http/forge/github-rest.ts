import { type AnyDraft, field, has, type RouteMatch, str } from './types.js';

const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// `.github/workflows/…` and `.github/actions/…` define what CI runs; matched without regard to case or repeated slashes.
const CI_PATH = /^\.github\/+(workflows|actions)(\/|$)/i;

/** The repository a path starts with: `/repos/{owner}/{repo}` or `/repositories/{id}` (owner unknown). */
function repoScope(path: string): { owner: string | null; repo: string | null; rest: string } | undefined {
  let m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
  if (m) return { owner: m[1] as string, repo: m[2] as string, rest: m[3] ?? '' };
  m = /^\/repositories\/(\d+)(\/.*)?$/.exec(path);
  if (m) return { owner: null, repo: `id:${m[1]}`, rest: m[2] ?? '' };
  return undefined;
}

const fixed = (actions: AnyDraft[]): RouteMatch => ({ needsBody: false, actions: () => actions });
const withBody = (actions: (body: unknown) => AnyDraft[]): RouteMatch => ({ needsBody: true, actions });

/**
 * Classifies a GitHub REST call (path without the `/api/v3` prefix). Only
 * writes are named; reads and unknown paths return undefined. Patterns follow
 * the REST reference (docs.github.com/rest): branch protection, rulesets,
 * repository settings, transfer, secrets and variables, contents, deploy
 * keys, webhooks, collaborators and teams, releases and git refs.
 */
export function githubRest(method: string, path: string): RouteMatch | undefined {
  if (!WRITE.has(method)) return undefined;
  const scope = repoScope(path);
  if (scope) return repoCall(method, scope.owner, scope.repo, scope.rest);
  const org = /^\/orgs\/([^/]+)(\/.*)$/.exec(path);
  if (org) return orgCall(method, org[1] as string, org[2] as string);
  const team = /^\/teams\/([^/]+)\/repos\/([^/]+)\/([^/]+)$/.exec(path);
  if (team && (method === 'PUT' || method === 'DELETE')) {
    return teamRepo(method, team[2] as string, team[3] as string, `id:${team[1]}`);
  }
  return undefined;
}

/** Owner and repository of a call (owner null for `/repositories/{id}`, repo null for an organisation's). */
type Scope = { owner: string | null; repo: string | null };

/** A write under `/repos/{owner}/{repo}`: the method, the scope and the path after it. */
interface RepoCall {
  readonly method: string;
  readonly at: Scope;
  readonly rest: string;
}

/** One family of repository paths; undefined when the call is not one of them (or not a write the family names). */
type RepoRoute = (call: RepoCall) => RouteMatch | undefined;

const setOrDelete = (method: string) => (method === 'DELETE' ? 'delete' : 'set');

const repository: RepoRoute = ({ method, at, rest }) => {
  if (rest !== '' && rest !== '/') return undefined;
  if (method === 'DELETE') return fixed([{ kind: 'forge.repo_delete', attrs: { ...at, operation: 'delete', setting: 'repository' } }]);
  if (method === 'PATCH') return withBody((body) => repoSettings(at, body));
  return undefined;
};

const transfer: RepoRoute = ({ method, at, rest }) =>
  rest === '/transfer' && method === 'POST'
    ? withBody((body) => [{ kind: 'forge.repo_transfer', attrs: { ...at, operation: 'update', setting: 'owner', newOwner: str(body, 'new_owner') } }])
    : undefined;

const branchProtection: RepoRoute = ({ method, at, rest }) => {
  const m = /^\/branches\/(.+?)\/protection(?:\/(.*))?$/.exec(rest);
  if (!m) return undefined;
  const setting = m[2] ? m[2].replace(/\/+$/, '') : 'protection';
  const kind = method === 'DELETE' ? 'forge.branch_protection_delete' : 'forge.branch_protection_change';
  return fixed([{ kind, attrs: { ...at, branch: m[1], setting, operation: method === 'DELETE' ? 'delete' : 'set' } }]);
};

/** Rulesets of a repository or an organisation; `updates` are the methods that change an existing one. */
function rulesets(method: string, at: Scope, rest: string, updates: readonly string[]): RouteMatch | undefined {
  const m = /^\/rulesets(?:\/([^/]+))?$/.exec(rest);
  if (!m) return undefined;
  const id = m[1];
  if (method === 'DELETE' && id) return fixed([{ kind: 'forge.ruleset_delete', attrs: { ...at, setting: 'ruleset', operation: 'delete', rulesetId: id } }]);
  if ((method === 'POST' && !id) || (updates.includes(method) && id)) {
    return fixed([{ kind: 'forge.ruleset_change', attrs: { ...at, setting: 'ruleset', operation: id ? 'update' : 'create', rulesetId: id ?? null } }]);
  }
  return undefined;
}

const ciSecrets: RepoRoute = ({ method, at, rest }) => {
  const m = /^\/(?:(actions|dependabot|codespaces)|environments\/([^/]+))\/secrets\/([^/]+)$/.exec(rest);
  if (!m || (method !== 'PUT' && method !== 'DELETE')) return undefined;
  const environment = m[2] ?? null;
  const scope = environment ? 'environment' : 'repository';
  return fixed([
    { kind: 'forge.ci_secret_write', attrs: { ...at, setting: m[3], operation: setOrDelete(method), scope, environment, store: m[1] ?? 'actions' } },
  ]);
};

/** A CI variable written (`name` from the path, or from the body of a new one), in a repository, environment or organisation. */
function ciVariable(method: string, name: string | undefined, attrs: Record<string, unknown>): RouteMatch | undefined {
  const op = !name && method === 'POST' ? 'create' : name && method === 'PATCH' ? 'update' : name && method === 'DELETE' ? 'delete' : undefined;
  if (!op) return undefined;
  const base = { ...attrs, operation: op };
  // The name of a new variable is in the body.
  return name
    ? fixed([{ kind: 'forge.ci_variable_write', attrs: { ...base, setting: name } }])
    : withBody((b) => [{ kind: 'forge.ci_variable_write', attrs: { ...base, setting: str(b, 'name') } }]);
}

const ciVariables: RepoRoute = ({ method, at, rest }) => {
  const m = /^\/(?:actions|environments\/([^/]+))\/variables(?:\/([^/]+))?$/.exec(rest);
  if (!m) return undefined;
  const environment = m[1] ?? null;
  return ciVariable(method, m[2], { ...at, scope: environment ? 'environment' : 'repository', environment });
};

const workflowFiles: RepoRoute = ({ method, at, rest }) => {
  const m = /^\/contents\/(.+)$/.exec(rest);
  if (!m || (method !== 'PUT' && method !== 'DELETE')) return undefined;
  const file = (m[1] as string).replace(/\/{2,}/g, '/');
  if (!CI_PATH.test(file)) return undefined;
  return withBody((body) => [
    {
      kind: 'forge.workflow_change',
      attrs: { ...at, setting: file, branch: str(body, 'branch'), operation: method === 'DELETE' ? 'delete' : has(body, 'sha') ? 'update' : 'create' },
    },
  ]);
};

const deployKeys: RepoRoute = ({ method, at, rest }) =>
  rest === '/keys' && method === 'POST'
    ? // GitHub's read_only defaults to false: a key without it may push.
      withBody((body) => [
        { kind: 'forge.deploy_key_add', attrs: { ...at, setting: str(body, 'title'), operation: 'create', readOnly: field(body, 'read_only') === true } },
      ])
    : undefined;

/** Webhooks of a repository or an organisation: added, or their URL changed. */
function webhooks(method: string, at: Scope, rest: string): RouteMatch | undefined {
  if (rest === '/hooks' && method === 'POST')
    return withBody((body) => [{ kind: 'forge.webhook_add', attrs: { ...at, setting: 'webhook', operation: 'create', url: hookUrl(body) } }]);
  const m = /^\/hooks\/([^/]+)(\/config)?$/.exec(rest);
  if (!m || method !== 'PATCH') return undefined;
  return withBody((body) => [
    { kind: 'forge.webhook_change', attrs: { ...at, setting: `webhook ${m[1]}`, operation: 'update', url: m[2] ? str(body, 'url') : hookUrl(body) } },
  ]);
}

const collaborators: RepoRoute = ({ method, at, rest }) => {
  const m = /^\/collaborators\/([^/]+)$/.exec(rest);
  if (!m || (method !== 'PUT' && method !== 'DELETE')) return undefined;
  const attrs = { ...at, setting: 'collaborator', target: 'user', name: m[1] };
  if (method === 'DELETE') return fixed([{ kind: 'forge.permission_change', attrs: { ...attrs, operation: 'delete', permission: null } }]);
  return withBody((body) => [{ kind: 'forge.permission_change', attrs: { ...attrs, operation: 'set', permission: str(body, 'permission') ?? 'push' } }]);
};

const invitations: RepoRoute = ({ method, at, rest }) => {
  const m = /^\/invitations\/([^/]+)$/.exec(rest);
  if (!m || method !== 'PATCH') return undefined;
  const name = m[1];
  return withBody((body) => [
    {
      kind: 'forge.permission_change',
      attrs: { ...at, setting: 'invitation', operation: 'update', target: 'invitation', name, permission: str(body, 'permissions') },
    },
  ]);
};

const releases: RepoRoute = ({ method, at, rest }) => {
  const m = /^\/releases\/(assets\/)?([^/]+)$/.exec(rest);
  if (!m || method !== 'DELETE') return undefined;
  return fixed([
    {
      kind: 'forge.release_delete',
      attrs: { ...at, setting: m[1] ? `asset ${m[2]}` : `release ${m[2]}`, operation: 'delete', target: m[1] ? 'asset' : 'release' },
    },
  ]);
};

/** A ref updated or deleted through the API: decided like the same update pushed (refs.ts), on the git connection's mirror. */
const gitRefs: RepoRoute = ({ method, at, rest }) => {
  const m = /^\/git\/refs\/(.+)$/.exec(rest);
  if (!m || (method !== 'PATCH' && method !== 'DELETE')) return undefined;
  const { owner, repo } = at;
  const name = `refs/${(m[1] as string).replace(/\/+$/, '')}`;
  if (method === 'DELETE')
    return fixed([{ ref: { owner, repo, name, op: 'delete', newSha: null, force: false }, attrs: { ...at, setting: name, operation: 'delete' } }]);
  return withBody((body) => {
    // Anything but an explicit false (or no force at all) is taken as a forced update: the forge may read "true", 1, … as true.
    const force = has(body, 'force') && field(body, 'force') !== false;
    return [
      {
        ref: { owner, repo, name, op: 'update', newSha: str(body, 'sha'), force },
        attrs: { ...at, setting: name, operation: 'update' },
        unforced: (b) => ({ ...(b as Record<string, unknown>), force: false }),
      },
    ];
  });
};

/** The repository path families, each a named step; their paths do not overlap, so the first that names the call decides. */
const REPO_ROUTES: readonly RepoRoute[] = [
  repository,
  transfer,
  branchProtection,
  (c) => rulesets(c.method, c.at, c.rest, ['PUT', 'PATCH']),
  ciSecrets,
  ciVariables,
  workflowFiles,
  deployKeys,
  (c) => webhooks(c.method, c.at, c.rest),
  collaborators,
  invitations,
  releases,
  gitRefs,
];

function repoCall(method: string, owner: string | null, repo: string | null, rest: string): RouteMatch | undefined {
  const call: RepoCall = { method, at: { owner, repo }, rest };
  for (const route of REPO_ROUTES) {
    const match = route(call);
    if (match) return match;
  }
  return undefined;
}

/** `PATCH /repos/{o}/{r}`: each dangerous field is an action of its own (decided all-or-nothing). */
function repoSettings(at: Scope, body: unknown): AnyDraft[] {
  const out: AnyDraft[] = [];
  const name = str(body, 'name');
  if (name !== null && name !== at.repo) out.push({ kind: 'forge.repo_rename', attrs: { ...at, setting: 'name', operation: 'update', newName: name } });
  if (has(body, 'visibility') || has(body, 'private')) {
    const v = str(body, 'visibility') ?? (field(body, 'private') === true ? 'private' : field(body, 'private') === false ? 'public' : null);
    out.push({
      kind: 'forge.repo_visibility_change',
      attrs: { ...at, setting: has(body, 'visibility') ? 'visibility' : 'private', operation: 'update', visibility: v },
    });
  }
  if (has(body, 'default_branch'))
    out.push({ kind: 'forge.default_branch_change', attrs: { ...at, setting: 'default_branch', operation: 'update', branch: str(body, 'default_branch') } });
  if (has(body, 'archived'))
    out.push({ kind: 'forge.repo_archive', attrs: { ...at, setting: 'archived', operation: 'update', archived: field(body, 'archived') === true } });
  return out;
}

function orgCall(method: string, org: string, rest: string): RouteMatch | undefined {
  const at: Scope = { owner: org, repo: null };
  let m = /^\/actions\/secrets\/([^/]+)$/.exec(rest) ?? /^\/(dependabot|codespaces)\/secrets\/([^/]+)$/.exec(rest);
  if (m && (method === 'PUT' || method === 'DELETE')) {
    const store = m.length === 3 ? (m[1] as string) : 'actions';
    const name = m.length === 3 ? m[2] : m[1];
    return fixed([
      { kind: 'forge.ci_secret_write', attrs: { ...at, setting: name, operation: setOrDelete(method), scope: 'organization', environment: null, store } },
    ]);
  }
  m = /^\/actions\/variables(?:\/([^/]+))?$/.exec(rest);
  if (m) return ciVariable(method, m[1], { ...at, scope: 'organization', environment: null });
  const named = rulesets(method, at, rest, ['PUT']) ?? webhooks(method, at, rest);
  if (named) return named;
  m = /^\/teams\/([^/]+)\/repos\/([^/]+)\/([^/]+)$/.exec(rest);
  if (m && (method === 'PUT' || method === 'DELETE')) return teamRepo(method, m[2] as string, m[3] as string, m[1] as string);
  return undefined;
}

/** A team's access to a repository (`PUT|DELETE /orgs/{org}/teams/{team}/repos/{o}/{r}`, legacy `/teams/{id}/repos/…`). */
function teamRepo(method: string, owner: string, repo: string, team: string): RouteMatch {
  const attrs = { owner, repo, setting: 'team', target: 'team', name: team };
  if (method === 'DELETE') return fixed([{ kind: 'forge.permission_change', attrs: { ...attrs, operation: 'delete', permission: null } }]);
  return withBody((body) => [{ kind: 'forge.permission_change', attrs: { ...attrs, operation: 'set', permission: str(body, 'permission') ?? 'push' } }]);
}

function hookUrl(body: unknown): string | null {
  return str(field(body, 'config'), 'url') ?? str(body, 'url');
}
