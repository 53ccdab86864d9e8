import { type DocumentNode, type FieldNode, Kind, parse, type SelectionSetNode, valueFromASTUntyped } from 'graphql';
import { ProxyError } from '../../../errors.js';
import { type AnyDraft, field, str } from './types.js';

const CI_PATH = /^\.github\/+(workflows|actions)(\/|$)/i;
const ZERO = /^0{40}$|^0{64}$/;
// Parsing is bounded by the body limit; the token cap keeps a hostile document from costing more than its size.
const MAX_TOKENS = 50_000;

/** One operation of a GraphQL request (a body may batch several). */
interface GraphqlRequest {
  query: string;
  variables: Record<string, unknown>;
}

/** The operations of a POST body (`{query, variables}` or a batch array), or of a GET's `query` parameter. */
export function graphqlRequests(body: unknown): GraphqlRequest[] {
  const items = Array.isArray(body) ? body : [body];
  return items.map((item) => {
    const query = field(item, 'query');
    if (typeof query !== 'string') throw new ProxyError('ERR_BAD_REQUEST', 'a GraphQL request must carry its document in "query"');
    const vars = field(item, 'variables');
    return { query, variables: vars !== null && typeof vars === 'object' && !Array.isArray(vars) ? (vars as Record<string, unknown>) : {} };
  });
}

/**
 * The actions of GitHub GraphQL mutations: every root field of every
 * mutation operation in the document (fragments on the mutation type
 * followed), named by the mutation field, never by the client-chosen
 * operation name. A document that does not parse is refused: the gateway
 * does not forward what it cannot classify.
 */
export function githubGraphqlActions(req: GraphqlRequest): AnyDraft[] {
  let doc: DocumentNode;
  try {
    doc = parse(req.query, { noLocation: true, maxTokens: MAX_TOKENS });
  } catch (cause) {
    throw new ProxyError('ERR_BAD_REQUEST', 'the GraphQL document does not parse; the gateway classifies mutations before forwarding', { cause });
  }
  const fragments = new Map<string, SelectionSetNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d.selectionSet);
  const out: AnyDraft[] = [];
  for (const d of doc.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION || d.operation !== 'mutation') continue;
    for (const f of rootFields(d.selectionSet, fragments, new Set())) out.push(...mutationActions(f, req.variables));
  }
  return out;
}

/** Root fields of a selection set, through fragment spreads and inline fragments (each fragment once). */
function rootFields(set: SelectionSetNode, fragments: ReadonlyMap<string, SelectionSetNode>, seen: Set<string>): FieldNode[] {
  const out: FieldNode[] = [];
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) out.push(s);
    else if (s.kind === Kind.INLINE_FRAGMENT) out.push(...rootFields(s.selectionSet, fragments, seen));
    else if (!seen.has(s.name.value)) {
      seen.add(s.name.value);
      const frag = fragments.get(s.name.value);
      if (frag) out.push(...rootFields(frag, fragments, seen));
    }
  }
  return out;
}

/** The field's `input` argument with variables substituted. */
function inputOf(f: FieldNode, variables: Record<string, unknown>): unknown {
  const arg = f.arguments?.find((a) => a.name.value === 'input');
  return arg ? valueFromASTUntyped(arg.value, variables) : undefined;
}

function mutationActions(f: FieldNode, variables: Record<string, unknown>): AnyDraft[] {
  const mutation = f.name.value;
  if (mutation.startsWith('__')) return [];
  const input = inputOf(f, variables);
  const base = { owner: null, repo: null, setting: mutation, mutation };
  switch (mutation) {
    case 'createBranchProtectionRule':
    case 'updateBranchProtectionRule':
      return [
        {
          kind: 'forge.branch_protection_change',
          attrs: { ...base, branch: str(input, 'pattern'), operation: mutation.startsWith('create') ? 'create' : 'update' },
        },
      ];
    case 'deleteBranchProtectionRule':
      return [{ kind: 'forge.branch_protection_delete', attrs: { ...base, operation: 'delete' } }];
    case 'createRepositoryRuleset':
    case 'updateRepositoryRuleset':
      return [
        {
          kind: 'forge.ruleset_change',
          attrs: { ...base, operation: mutation.startsWith('create') ? 'create' : 'update', rulesetId: str(input, 'repositoryRulesetId') },
        },
      ];
    case 'deleteRepositoryRuleset':
      return [{ kind: 'forge.ruleset_delete', attrs: { ...base, operation: 'delete', rulesetId: str(input, 'repositoryRulesetId') } }];
    case 'archiveRepository':
    case 'unarchiveRepository':
      return [{ kind: 'forge.repo_archive', attrs: { ...base, operation: 'update', archived: mutation === 'archiveRepository' } }];
    case 'updateRepository': {
      const name = str(input, 'name');
      return name !== null ? [{ kind: 'forge.repo_rename', attrs: { ...base, operation: 'update', newName: name } }] : generic(base);
    }
    case 'updateTeamsRepository':
      return [
        {
          kind: 'forge.permission_change',
          attrs: { ...base, operation: 'set', target: 'team', name: idList(field(input, 'teamIds')), permission: str(input, 'permission') },
        },
      ];
    case 'deleteRef':
      return [{ ref: { owner: null, repo: null, name: null, op: 'delete', newSha: null, force: false }, attrs: { ...base, operation: 'delete' } }];
    case 'updateRef': {
      const force = field(input, 'force') !== undefined && field(input, 'force') !== null && field(input, 'force') !== false;
      return [{ ref: { owner: null, repo: null, name: null, op: 'update', newSha: str(input, 'oid'), force }, attrs: { ...base, operation: 'update' } }];
    }
    case 'updateRefs':
      return refUpdates(base, input);
    case 'createCommitOnBranch':
      return commitOnBranch(base, input);
    default:
      return generic(base);
  }
}

/** `updateRefs`: each ref update decided like the same update pushed (an all-zero `afterOid` deletes). */
function refUpdates(base: { setting: string; mutation: string } & Record<string, unknown>, input: unknown): AnyDraft[] {
  const updates = field(input, 'refUpdates');
  if (!Array.isArray(updates) || updates.length === 0) return generic(base);
  return updates.map((u) => {
    const after = str(u, 'afterOid');
    const deleted = after !== null && ZERO.test(after);
    const force = field(u, 'force') !== undefined && field(u, 'force') !== null && field(u, 'force') !== false;
    const name = str(u, 'name');
    return {
      ref: { owner: null, repo: null, name, op: deleted ? ('delete' as const) : ('update' as const), newSha: deleted ? null : after, force },
      attrs: { ...base, setting: name ?? base.mutation, operation: deleted ? 'delete' : 'update' },
    };
  });
}

/** `createCommitOnBranch`: a workflow change per CI file it adds or deletes, else a generic mutation. */
function commitOnBranch(base: Record<string, unknown>, input: unknown): AnyDraft[] {
  const branch = field(input, 'branch');
  const [owner, repo] = (str(branch, 'repositoryNameWithOwner') ?? '').split('/');
  const changes = field(input, 'fileChanges');
  const paths = ['additions', 'deletions'].flatMap((k) => {
    const list = field(changes, k);
    return Array.isArray(list) ? list.map((c) => str(c, 'path')).filter((p): p is string => p !== null) : [];
  });
  const ci = [...new Set(paths.filter((p) => CI_PATH.test(p.replace(/\/{2,}/g, '/'))))];
  if (ci.length === 0) return generic(base);
  return ci.map((p) => ({
    kind: 'forge.workflow_change' as const,
    attrs: { ...base, owner: owner || null, repo: repo || null, branch: str(branch, 'branchName'), setting: p, operation: 'update' },
  }));
}

function generic(base: Record<string, unknown>): AnyDraft[] {
  return [{ kind: 'forge.graphql_mutation', attrs: { ...base, operation: 'update' } }];
}

function idList(v: unknown): string | null {
  return Array.isArray(v) ? v.map(String).join(',') : typeof v === 'string' ? v : null;
}
