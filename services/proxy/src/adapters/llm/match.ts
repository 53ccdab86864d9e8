import type { StoredExchange } from './exchange-store.js';

/**
 * # Which exchange proposed an action (correlation heuristics)
 *
 * An action is reduced to a *signature*: groups of alternative tokens that
 * a command carrying out the action must contain (every `all` group needs
 * one of its alternatives), and `none` groups that must be absent. A tool
 * call matches when the text of its arguments (the string values of the
 * JSON arguments, e.g. a `bash` tool's `command`) satisfies the signature.
 * Tokens match case-insensitively as whole words: not preceded or followed
 * by a letter, digit, `_` or `-` (so `-f` is not found in `rm -rf`, and
 * `main` not in `maintain`, while `origin/main`, `+main` and `:main` count).
 *
 * - git ref updates (`git.push`, `git.force_push`, `git.create_ref`,
 *   `git.delete_ref`, `git.tag_*`): `push`, plus one of the updated refs
 *   (short name `main` or full `refs/heads/main`) whose kind is the
 *   action's; force-push also needs `--force`/`-f`/`--force-with-lease`/
 *   `+<ref>`, a deletion `--delete`/`-d`/`:<ref>`; a plain push must NOT
 *   carry a force or delete flag (so it does not link to the exchange that
 *   proposed a force-push of the same branch).
 *   A bare `git push` naming no ref does not match (falls back).
 * - other git actions (fetch, clone): `clone`, `fetch`, `pull` or `ls-remote`.
 * - `http.<method>`: the last path segment (when it has 3+ characters).
 * - `kubernetes.<verb>`: the verb, plus the resource name when there is one.
 * - anything else: the words of the kind after its family (`registry.delete_tag` → delete, tag).
 *
 * The newest exchange with a matching tool call wins (rule
 * `tool-call-match`, with that tool call's id); without one, the latest
 * exchange of the session (rule `latest-exchange`); without any exchange,
 * no link.
 */
export interface ActionSummary {
  kind: string;
  attributes: Record<string, unknown>;
  /** Ref updates with their audit kind (`force-push`, `delete`, …), from the git audit fields. */
  refs: Array<{ ref: string; kind?: string }>;
}

export interface Signature {
  all: string[][];
  none: string[][];
}

export interface Link {
  exchange_id: string;
  tool_call_id?: string;
  rule: 'tool-call-match' | 'latest-exchange';
}

const FORCE = ['--force', '-f', '--force-with-lease', '--force-if-includes'];
const DELETE = ['--delete', '-d'];

const REF_KIND: Record<string, string[]> = {
  'git.push': ['fast-forward'],
  'git.force_push': ['force-push'],
  'git.create_ref': ['create'],
  'git.delete_ref': ['delete'],
  'git.tag_create': ['tag-create'],
  'git.tag_move': ['tag-update'],
  'git.tag_delete': ['tag-delete'],
};

function shortRef(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '');
}

/** The signature of an action, or undefined when nothing about it can be recognised in a command. */
export function signatureOf(a: ActionSummary): Signature | undefined {
  const [family, verb = ''] = a.kind.split('.', 2);
  if (family === 'git') {
    const wanted = REF_KIND[a.kind];
    if (!wanted) return { all: [['clone', 'fetch', 'pull', 'ls-remote']], none: [] };
    const refs = a.refs.filter((r) => r.kind === undefined || wanted.includes(r.kind));
    const list = refs.length > 0 ? refs : a.refs;
    if (list.length === 0) return undefined;
    const names = list.flatMap((r) => [shortRef(r.ref), r.ref]);
    const all = [['push'], names];
    const none: string[][] = [];
    if (a.kind === 'git.force_push' || a.kind === 'git.tag_move') all.push([...FORCE, ...names.map((n) => `+${n}`)]);
    else if (a.kind === 'git.delete_ref' || a.kind === 'git.tag_delete') all.push([...DELETE, ...names.map((n) => `:${n}`)]);
    else none.push([...FORCE, ...DELETE, ...names.map((n) => `+${n}`), ...names.map((n) => `:${n}`)]);
    return { all, none };
  }
  if (family === 'http') {
    const path = typeof a.attributes.path === 'string' ? a.attributes.path : '';
    const last = path
      .split('/')
      .filter((s) => s !== '')
      .pop();
    return last && last.length >= 3 ? { all: [[last]], none: [] } : undefined;
  }
  if (family === 'kubernetes') {
    const name = typeof a.attributes.name === 'string' ? a.attributes.name : undefined;
    return { all: [[verb], ...(name ? [[name]] : [])], none: [] };
  }
  const words = verb.split('_').filter((w) => w.length >= 3);
  return words.length > 0 ? { all: words.map((w) => [w]), none: [] } : undefined;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function hasToken(text: string, token: string): boolean {
  return new RegExp(`(?<![a-z0-9_-])${escapeRegex(token.toLowerCase())}(?![a-z0-9_-])`).test(text);
}

/** The text a tool call's arguments carry: their string values (JSON unescaped), or the raw text when not JSON. */
export function argumentText(args: string): string {
  const out: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 32) return;
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) walk(x, depth + 1);
  };
  try {
    walk(JSON.parse(args), 0);
  } catch {
    return args.toLowerCase();
  }
  return out.join('\n').toLowerCase();
}

/** Whether a tool call's argument text carries out the action's signature. */
export function satisfies(sig: Signature, text: string): boolean {
  return sig.all.every((g) => g.some((t) => hasToken(text, t))) && !sig.none.some((g) => g.some((t) => hasToken(text, t)));
}

/** Picks the exchange that proposed an action among a session's exchanges (oldest first). */
export function pickLink(exchanges: readonly StoredExchange[], action: ActionSummary): Link | undefined {
  if (exchanges.length === 0) return undefined;
  const newestFirst = [...exchanges].sort((x, y) => y.at - x.at);
  const sig = signatureOf(action);
  if (sig) {
    for (const ex of newestFirst) {
      for (const call of ex.toolCalls) {
        if (satisfies(sig, argumentText(call.arguments))) return { exchange_id: ex.id, ...(call.id && { tool_call_id: call.id }), rule: 'tool-call-match' };
      }
    }
  }
  const latest = newestFirst[0];
  return latest ? { exchange_id: latest.id, rule: 'latest-exchange' } : undefined;
}
