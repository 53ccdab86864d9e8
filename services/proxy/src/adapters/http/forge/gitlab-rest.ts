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

function projectCall(method: string, id: string, rest: string): RouteMatch | undefined {
  const at = { owner: null, repo: id };
  if (rest === '' || rest === '/') {
    if (method === 'DELETE') return fixed([{ kind: 'forge.repo_delete', attrs: { ...at, setting: 'project', operation: 'delete' } }]);
    if (method === 'PUT') return withBody((body) => projectSettings(at, body));
    return undefined;
  }
  if (rest === '/transfer' && method === 'PUT') return withBody((body) => [{ kind: 'forge.repo_transfer', attrs: { ...at, setting: 'namespace', operation: 'update', newOwner: str(body, 'namespace') } }]);
  if ((rest === '/archive' || rest === '/unarchive') && method === 'POST') {
    return fixed([{ kind: 'forge.repo_archive', attrs: { ...at, setting: 'archived', operation: 'update', archived: rest === '/archive' } }]);
  }
  let m = /^\/protected_(branches|tags)(?:\/(.+))?$/.exec(rest);
  if (m) {
    const setting = m[1] === 'tags' ? 'protected_tag' : 'protected_branch';
    if (method === 'DELETE' && m[2]) return fixed([{ kind: 'forge.branch_protection_delete', attrs: { ...at, branch: m[2], setting, operation: 'delete' } }]);
    if (method === 'POST' && !m[2]) return withBody((body) => [{ kind: 'forge.branch_protection_change', attrs: { ...at, branch: str(body, 'name'), setting, operation: 'create' } }]);
    if (method === 'PATCH' && m[2]) return fixed([{ kind: 'forge.branch_protection_change', attrs: { ...at, branch: m[2], setting, operation: 'update' } }]);
    return undefined;
  }
  m = /^\/variables(?:\/([^/]+))?$/.exec(rest);
  if (m) return variable(method, at, m[1], 'repository');
  m = /^\/repository\/files\/(.+)$/.exec(rest);
  if (m && (method === 'POST' || method === 'PUT' || method === 'DELETE')) {
    const file = m[1] as string;
    if (!CI_FILE.test(file)) return undefined;
    const operation = method === 'POST' ? 'create' : method === 'PUT' ? 'update' : 'delete';
    return withBody((body) => [{ kind: 'forge.workflow_change', attrs: { ...at, setting: file, branch: str(body, 'branch'), operation } }]);
  }
  if (rest === '/repository/commits' && method === 'POST') {
    return withBody((body) => {
      const actions = field(body, 'actions');
      const files = Array.isArray(actions) ? actions.flatMap((a) => [str(a, 'file_path'), str(a, 'previous_path')]).filter((f): f is string => f !== null && CI_FILE.test(f)) : [];
      return [...new Set(files)].map((f) => ({ kind: 'forge.workflow_change' as const, attrs: { ...at, setting: f, branch: str(body, 'branch'), operation: 'update' } }));
    });
  }
  if (rest === '/deploy_keys' && method === 'POST') {
    return withBody((body) => [{ kind: 'forge.deploy_key_add', attrs: { ...at, setting: str(body, 'title'), operation: 'create', readOnly: field(body, 'can_push') !== true } }]);
  }
  m = /^\/deploy_keys\/([^/]+)\/enable$/.exec(rest);
  if (m && method === 'POST') return fixed([{ kind: 'forge.deploy_key_add', attrs: { ...at, setting: `deploy key ${m[1]}`, operation: 'update', readOnly: null } }]);
  if (rest === '/hooks' && method === 'POST') return withBody((body) => [{ kind: 'forge.webhook_add', attrs: { ...at, setting: 'webhook', operation: 'create', url: str(body, 'url') } }]);
  m = /^\/hooks\/([^/]+)$/.exec(rest);
  if (m && method === 'PUT') return withBody((body) => [{ kind: 'forge.webhook_change', attrs: { ...at, setting: `webhook ${m?.[1]}`, operation: 'update', url: str(body, 'url') } }]);
  m = /^\/members(?:\/([^/]+))?$/.exec(rest);
  if (m) {
    const name = m[1];
    if (method === 'DELETE' && name) return fixed([{ kind: 'forge.permission_change', attrs: { ...at, setting: 'member', operation: 'delete', target: 'user', name, permission: null } }]);
    if ((method === 'POST' && !name) || (method === 'PUT' && name)) {
      return withBody((body) => [
        {
          kind: 'forge.permission_change',
          attrs: { ...at, setting: 'member', operation: name ? 'update' : 'create', target: 'user', name: name ?? str(body, 'user_id') ?? str(body, 'username'), permission: str(body, 'access_level') },
        },
      ]);
    }
    return undefined;
  }
  if (rest === '/share' && method === 'POST') {
    return withBody((body) => [{ kind: 'forge.permission_change', attrs: { ...at, setting: 'share', operation: 'create', target: 'group', name: str(body, 'group_id'), permission: str(body, 'group_access') } }]);
  }
  m = /^\/share\/([^/]+)$/.exec(rest);
  if (m && method === 'DELETE') return fixed([{ kind: 'forge.permission_change', attrs: { ...at, setting: 'share', operation: 'delete', target: 'group', name: m[1], permission: null } }]);
  m = /^\/releases\/(.+)$/.exec(rest);
  if (m && method === 'DELETE' && !m[1]?.includes('/assets/')) return fixed([{ kind: 'forge.release_delete', attrs: { ...at, setting: `release ${m[1]}`, operation: 'delete', target: 'release' } }]);
  m = /^\/repository\/(branches|tags)\/(.+)$/.exec(rest);
  if (m && method === 'DELETE') {
    const name = `refs/${m[1] === 'tags' ? 'tags' : 'heads'}/${m[2]}`;
    return fixed([{ ref: { owner: null, repo: id, name, op: 'delete', newSha: null, force: false }, attrs: { ...at, setting: name, operation: 'delete' } }]);
  }
  return undefined;
}

function projectSettings(at: { owner: null; repo: string }, body: unknown): AnyDraft[] {
  const out: AnyDraft[] = [];
  if (has(body, 'name') || has(body, 'path')) {
    out.push({ kind: 'forge.repo_rename', attrs: { ...at, setting: has(body, 'path') ? 'path' : 'name', operation: 'update', newName: str(body, 'path') ?? str(body, 'name') } });
  }
  if (has(body, 'visibility')) out.push({ kind: 'forge.repo_visibility_change', attrs: { ...at, setting: 'visibility', operation: 'update', visibility: str(body, 'visibility') } });
  if (has(body, 'default_branch')) out.push({ kind: 'forge.default_branch_change', attrs: { ...at, setting: 'default_branch', operation: 'update', branch: str(body, 'default_branch') } });
  return out;
}

function variable(method: string, at: { owner: string | null; repo: string | null }, key: string | undefined, scope: string): RouteMatch | undefined {
  const op = !key && method === 'POST' ? 'create' : key && method === 'PUT' ? 'update' : key && method === 'DELETE' ? 'delete' : undefined;
  if (!op) return undefined;
  const base = { ...at, operation: op, scope, environment: null };
  if (method === 'DELETE') return fixed([{ kind: 'forge.ci_variable_write', attrs: { ...base, setting: key } }]);
  return withBody((body) => [{ kind: 'forge.ci_variable_write', attrs: { ...base, setting: key ?? str(body, 'key'), environment: str(body, 'environment_scope') } }]);
}
