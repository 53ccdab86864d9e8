import { ProxyError } from '../../../errors.js';
import type { AdapterRequest, Classification, Connection } from '../../types.js';
import { parseJson, readBounded } from './body.js';
import { githubRest } from './github-rest.js';
import { gitlabRest } from './gitlab-rest.js';
import { githubGraphqlActions, graphqlRequests } from './graphql.js';
import { FORGE_BASE_ATTRS, FORGE_SEVERITY, type ForgeKind } from './kinds.js';
import { type ForgeGit, type ResolvedRef, resolveRef } from './refs.js';
import { type AnyDraft, type Draft, isRefDraft, type RouteMatch } from './types.js';

type HttpConnection = Extract<Connection, { type: 'http' }>;
export type ForgeOptions = NonNullable<NonNullable<HttpConnection['options']>['forge']>;

/** Builds the generic `http.<method>` classification (the http adapter's own), with the body the forge step may have read. */
export type GenericClassify = (req: AdapterRequest, body?: Buffer) => Classification;

// The API's own prefixes, stripped for classification only (the upstream gets the path as sent): GHES serves REST under /api/v3
// and a connection named `api` in front of it sees /v3; GitLab's v4 likewise. Stripping can only widen what is classified.
const PREFIX: Record<ForgeOptions['type'], RegExp> = { github: /^(?:\/api)?\/v3(?=\/)/, gitlab: /^(?:\/api)?\/v4(?=\/)/ };
const GRAPHQL: Record<ForgeOptions['type'], RegExp> = { github: /^(?:\/api)?\/graphql\/?$/, gitlab: /^(?:\/api)?\/graphql\/?$/ };

/**
 * The forge step of the http adapter (connections with `options.forge`):
 * names the calls that weaken protection, reach secrets or CI, or destroy
 * history (kinds.ts), with their attributes. Returns undefined for every
 * other call without touching the body. A call of several actions (a PATCH
 * of several settings, a GraphQL document of several mutations) is decided
 * per action, all-or-nothing.
 */
export async function classifyForge(req: AdapterRequest, forge: ForgeOptions, generic: GenericClassify): Promise<Classification | undefined> {
  const path = req.path.replace(PREFIX[forge.type], '');
  const graphql = GRAPHQL[forge.type].test(req.path);
  let match: RouteMatch | undefined;
  if (graphql && (req.method === 'POST' || req.method === 'GET')) {
    // GitLab's GraphQL mutations are not named yet: each is a forge.graphql_mutation (see the README's table).
    const actions = forge.type === 'github' ? githubGraphqlActions : gitlabGraphqlActions;
    match = {
      needsBody: req.method === 'POST',
      actions: (body) => graphqlRequests(req.method === 'POST' ? body : { query: req.query.query }).flatMap(actions),
    };
  } else {
    match = forge.type === 'github' ? githubRest(req.method, path) : gitlabRest(req.method, path);
  }
  if (!match) return undefined;
  const limit = Math.min(forge.maxBodyBytes, req.maxBodyBytes);
  const raw = match.needsBody ? await readBounded(req.body, limit, req.headers['content-encoding']) : undefined;
  const drafts = match.actions(raw ? parseJson(raw) : undefined);
  if (drafts.length === 0) return generic(req, raw);

  const git = gitOf(req, forge);
  const resolved: ResolvedRef[] = [];
  const actions: Draft[] = [];
  for (const d of drafts) {
    if (!isRefDraft(d)) {
      actions.push(d);
      continue;
    }
    const r = await resolveRef(d, git);
    resolved.push(r);
    actions.push(r.draft);
  }
  const base = { forge: forge.type, api: graphql ? 'graphql' : 'rest', method: req.method, path: req.path };
  const full = actions.map((a) => ({ kind: a.kind, attributes: withBase(base, a.attrs) }));
  const failure = resolved.find((r) => r.failure)?.failure;
  // A proven fast-forward goes on without force, so the forge refuses it should the branch move before it lands.
  const body = raw && resolved.length > 0 && resolved.every((r) => r.unforce) ? unforced(raw, drafts) : raw;
  const top = [...full].sort((a, b) => FORGE_SEVERITY.indexOf(a.kind as ForgeKind) - FORGE_SEVERITY.indexOf(b.kind as ForgeKind))[0] as (typeof full)[number];
  return {
    kind: top.kind,
    attributes: full.length === 1 ? top.attributes : { ...top.attributes, kinds: [...new Set(full.map((a) => a.kind))] },
    ...(body !== undefined && { body, bodyLength: body.length }),
    ...(failure && { failure }),
    ...(full.length > 1 && { parts: { actions: full, settle: (decisions) => settle(full, decisions) } }),
  };
}

function gitlabGraphqlActions(): AnyDraft[] {
  // Without a parse, every GitLab GraphQL request is classified as a mutation (fail closed); a query stays cheap to allow by rule.
  return [{ kind: 'forge.graphql_mutation', attrs: { owner: null, repo: null, setting: null, mutation: null, operation: 'update' } }];
}

/** Every base attribute present (null when the call did not name it), then the kind's own. */
function withBase(base: Record<string, unknown>, attrs: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(FORGE_BASE_ATTRS)) out[k] = null;
  return { ...out, ...base, ...Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, v === undefined ? null : v])) };
}

function gitOf(req: AdapterRequest, forge: ForgeOptions): ForgeGit | undefined {
  if (forge.git === undefined) return undefined;
  const peer = req.peer?.(forge.git);
  if (!peer || peer.connection.type !== 'git') return undefined;
  return { connection: peer.connection, lease: peer.lease, dataDir: req.dataDir };
}

function unforced(raw: Buffer, drafts: readonly AnyDraft[]): Buffer {
  const d = drafts.find((x) => isRefDraft(x) && x.unforced);
  if (!d || !isRefDraft(d) || !d.unforced) return raw;
  return Buffer.from(JSON.stringify(d.unforced(JSON.parse(raw.toString('utf8')))));
}

/** Several actions: the first one not allowed refuses the call (a deny before a review), naming its rule. */
function settle(full: ReadonlyArray<{ kind: string }>, decisions: ReadonlyArray<{ effect: 'allow' | 'deny' | 'review'; rule: string | null; reason: string }>) {
  const i = decisions.findIndex((d) => d.effect === 'deny');
  if (i < 0) return {};
  const d = decisions[i] as (typeof decisions)[number];
  const by = d.rule ? `rule ${d.rule}` : 'the policy default';
  return { refusal: new ProxyError('ERR_POLICY_DENIED', `${full[i]?.kind} denied by ${by}: ${d.reason}`) };
}
