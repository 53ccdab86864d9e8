import { type AnyDraft, field, has, type RouteMatch, str } from './types.js';

const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// What GitLab CI runs: the root `.gitlab-ci.yml` and, by convention, files under `.gitlab/ci/`.
const CI_FILE = /^(\.gitlab-ci\.yml|\.gitlab\/+ci\/.*)$/i;

const fixed = (actions: AnyDraft[]): RouteMatch => ({ needsBody: false, actions: () => actions });
const withBody = (actions: (body: unknown) => AnyDraft[]): RouteMatch => ({ needsBody: true, actions });

/**
 * Classifies a GitLab REST call (API v4, path without `/api/v4`): protected
 * branches and tags, project deletion, transfer, settings, CI/CD variables,
 * CI files, deploy keys, hooks, members and shares, releases, branch and tag
 * deletion. Projects are named by id as sent (`repo`); the namespace is not
 * known from the path (`owner` null). A path-style id (`group%2Fproject`) is
 * refused by the gateway's target checks before it gets here.
 */
export function gitlabRest(method: string, path: string): RouteMatch | undefined {
  if (!WRITE.has(method)) return undefined;
  const p = /^\/projects\/([^/]+)(\/.*)?$/.exec(path);
  if (p) return projectCall(method, p[1] as string, p[2] ?? '');
  const g = /^\/groups\/([^/]+)\/variables(?:\/([^/]+))?$/.exec(path);
  if (g) return variable(method, { owner: g[1] as string, repo: null }, g[2], 'group');
  return undefined;
}

type ProjectScope = { owner: null; repo: string };

/** A write under `/projects/{id}`: the method, the scope and the path after it. */
interface ProjectCall {
  readonly method: string;
  readonly at: ProjectScope;
  readonly rest: string;
}

/** One family of project paths; undefined when the call is not one of them (or not a write the family names). */
type ProjectRoute = (call: ProjectCall) => RouteMatch | undefined;

const project: ProjectRoute = ({ method, at, rest }) => {
  if (rest !== '' && rest !== '/') return undefined;
  if (method === 'DELETE') return fixed([{ kind: 'forge.repo_delete', attrs: { ...at, setting: 'project', operation: 'delete' } }]);
  if (method === 'PUT') return withBody((body) => projectSettings(at, body));
  return undefined;
};

const transferOrArchive: ProjectRoute = ({ method, at, rest }) => {
  if (rest === '/transfer' && method === 'PUT')
    return withBody((body) => [{ kind: 'forge.repo_transfer', attrs: { ...at, setting: 'namespace', operation: 'update', newOwner: str(body, 'namespace') } }]);
  if ((rest === '/archive' || rest === '/unarchive') && method === 'POST') {
    return fixed([{ kind: 'forge.repo_archive', attrs: { ...at, setting: 'archived', operation: 'update', archived: rest === '/archive' } }]);
  }
  return undefined;
};

const protectedRefs: ProjectRoute = ({ method, at, rest }) => {
  const m = /^\/protected_(branches|tags)(?:\/(.+))?$/.exec(rest);
  if (!m) return undefined;
  const setting = m[1] === 'tags' ? 'protected_tag' : 'protected_branch';
  const name = m[2];
  if (method === 'DELETE' && name) return fixed([{ kind: 'forge.branch_protection_delete', attrs: { ...at, branch: name, setting, operation: 'delete' } }]);
  if (method === 'POST' && !name)
    return withBody((body) => [{ kind: 'forge.branch_protection_change', attrs: { ...at, branch: str(body, 'name'), setting, operation: 'create' } }]);
  if (method === 'PATCH' && name) return fixed([{ kind: 'forge.branch_protection_change', attrs: { ...at, branch: name, setting, operation: 'update' } }]);
  return undefined;
};

const variables: ProjectRoute = ({ method, at, rest }) => {
  const m = /^\/variables(?:\/([^/]+))?$/.exec(rest);
  return m ? variable(method, at, m[1], 'repository') : undefined;
};

const ciFiles: ProjectRoute = ({ method, at, rest }) => {
  const m = /^\/repository\/files\/(.+)$/.exec(rest);
  if (!m || (method !== 'POST' && method !== 'PUT' && method !== 'DELETE')) return undefined;
  const file = m[1] as string;
  if (!CI_FILE.test(file)) return undefined;
  const operation = method === 'POST' ? 'create' : method === 'PUT' ? 'update' : 'delete';
  return withBody((body) => [{ kind: 'forge.workflow_change', attrs: { ...at, setting: file, branch: str(body, 'branch'), operation } }]);
};

/** A commit through the API changes every CI file its actions name (as path or previous path). */
const ciCommits: ProjectRoute = ({ method, at, rest }) => {
  if (rest !== '/repository/commits' || method !== 'POST') return undefined;
  return withBody((body) => {
    const actions = field(body, 'actions');
    const files = Array.isArray(actions)
      ? actions.flatMap((a) => [str(a, 'file_path'), str(a, 'previous_path')]).filter((f): f is string => f !== null && CI_FILE.test(f))
      : [];
    return [...new Set(files)].map((f) => ({
      kind: 'forge.workflow_change' as const,
      attrs: { ...at, setting: f, branch: str(body, 'branch'), operation: 'update' },
    }));
  });
};

const deployKeys: ProjectRoute = ({ method, at, rest }) => {
  if (method !== 'POST') return undefined;
  if (rest === '/deploy_keys') {
    return withBody((body) => [
      { kind: 'forge.deploy_key_add', attrs: { ...at, setting: str(body, 'title'), operation: 'create', readOnly: field(body, 'can_push') !== true } },
    ]);
  }
  const m = /^\/deploy_keys\/([^/]+)\/enable$/.exec(rest);
  return m ? fixed([{ kind: 'forge.deploy_key_add', attrs: { ...at, setting: `deploy key ${m[1]}`, operation: 'update', readOnly: null } }]) : undefined;
};

const hooks: ProjectRoute = ({ method, at, rest }) => {
  if (rest === '/hooks' && method === 'POST')
    return withBody((body) => [{ kind: 'forge.webhook_add', attrs: { ...at, setting: 'webhook', operation: 'create', url: str(body, 'url') } }]);
  const m = /^\/hooks\/([^/]+)$/.exec(rest);
  if (!m || method !== 'PUT') return undefined;
  return withBody((body) => [{ kind: 'forge.webhook_change', attrs: { ...at, setting: `webhook ${m[1]}`, operation: 'update', url: str(body, 'url') } }]);
};

const members: ProjectRoute = ({ method, at, rest }) => {
  const m = /^\/members(?:\/([^/]+))?$/.exec(rest);
  if (!m) return undefined;
  const name = m[1];
  if (method === 'DELETE' && name)
    return fixed([{ kind: 'forge.permission_change', attrs: { ...at, setting: 'member', operation: 'delete', target: 'user', name, permission: null } }]);
  if ((method !== 'POST' || name) && (method !== 'PUT' || !name)) return undefined;
  return withBody((body) => [
    {
      kind: 'forge.permission_change',
      attrs: {
        ...at,
        setting: 'member',
        operation: name ? 'update' : 'create',
        target: 'user',
        name: name ?? str(body, 'user_id') ?? str(body, 'username'),
        permission: str(body, 'access_level'),
      },
    },
  ]);
};

const shares: ProjectRoute = ({ method, at, rest }) => {
  if (rest === '/share' && method === 'POST') {
    return withBody((body) => [
      {
        kind: 'forge.permission_change',
        attrs: { ...at, setting: 'share', operation: 'create', target: 'group', name: str(body, 'group_id'), permission: str(body, 'group_access') },
      },
    ]);
  }
  const m = /^\/share\/([^/]+)$/.exec(rest);
  if (!m || method !== 'DELETE') return undefined;
  return fixed([{ kind: 'forge.permission_change', attrs: { ...at, setting: 'share', operation: 'delete', target: 'group', name: m[1], permission: null } }]);
};

const releases: ProjectRoute = ({ method, at, rest }) => {
  const m = /^\/releases\/(.+)$/.exec(rest);
  if (!m || method !== 'DELETE' || m[1]?.includes('/assets/')) return undefined;
  return fixed([{ kind: 'forge.release_delete', attrs: { ...at, setting: `release ${m[1]}`, operation: 'delete', target: 'release' } }]);
};

/** A branch or tag deleted through the API: decided like the same deletion pushed (refs.ts). */
const refDeletions: ProjectRoute = ({ method, at, rest }) => {
  const m = /^\/repository\/(branches|tags)\/(.+)$/.exec(rest);
  if (!m || method !== 'DELETE') return undefined;
  const name = `refs/${m[1] === 'tags' ? 'tags' : 'heads'}/${m[2]}`;
  return fixed([{ ref: { owner: null, repo: at.repo, name, op: 'delete', newSha: null, force: false }, attrs: { ...at, setting: name, operation: 'delete' } }]);
};

/** The project path families, each a named step; their paths do not overlap, so the first that names the call decides. */
const PROJECT_ROUTES: readonly ProjectRoute[] = [
  project,
  transferOrArchive,
  protectedRefs,
  variables,
  ciFiles,
  ciCommits,
  deployKeys,
  hooks,
  members,
  shares,
  releases,
  refDeletions,
];

function projectCall(method: string, id: string, rest: string): RouteMatch | undefined {
  const call: ProjectCall = { method, at: { owner: null, repo: id }, rest };
  for (const route of PROJECT_ROUTES) {
    const match = route(call);
    if (match) return match;
  }
  return undefined;
}

function projectSettings(at: ProjectScope, body: unknown): AnyDraft[] {
  const out: AnyDraft[] = [];
  if (has(body, 'name') || has(body, 'path')) {
    out.push({
      kind: 'forge.repo_rename',
      attrs: { ...at, setting: has(body, 'path') ? 'path' : 'name', operation: 'update', newName: str(body, 'path') ?? str(body, 'name') },
    });
  }
  if (has(body, 'visibility'))
    out.push({ kind: 'forge.repo_visibility_change', attrs: { ...at, setting: 'visibility', operation: 'update', visibility: str(body, 'visibility') } });
  if (has(body, 'default_branch'))
    out.push({ kind: 'forge.default_branch_change', attrs: { ...at, setting: 'default_branch', operation: 'update', branch: str(body, 'default_branch') } });
  return out;
}

function variable(method: string, at: { owner: string | null; repo: string | null }, key: string | undefined, scope: string): RouteMatch | undefined {
  const op = !key && method === 'POST' ? 'create' : key && method === 'PUT' ? 'update' : key && method === 'DELETE' ? 'delete' : undefined;
  if (!op) return undefined;
  const base = { ...at, operation: op, scope, environment: null };
  if (method === 'DELETE') return fixed([{ kind: 'forge.ci_variable_write', attrs: { ...base, setting: key } }]);
  return withBody((body) => [
    { kind: 'forge.ci_variable_write', attrs: { ...base, setting: key ?? str(body, 'key'), environment: str(body, 'environment_scope') } },
  ]);
}
