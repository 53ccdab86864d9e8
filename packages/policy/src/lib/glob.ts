/**
 * Action-kind globs: dot-separated segments, each made of `[A-Za-z0-9_-]`
 * and `*` (any run of characters inside one segment). `*` alone matches every
 * kind; `http.*` matches `http.get` but not `http`; `git.*_ref` matches
 * `git.create_ref`. Anything else (`?`, `[...]`, `{a,b}`, `**`, empty
 * segments) is refused: a glob we would read differently from its author
 * could open a gate.
 */
const SEGMENT = /^[A-Za-z0-9_*-]+$/;

export type KindMatcher = (kind: string) => boolean;

/** Compiles one glob; returns an error text instead of throwing, the caller names the rule. */
export function compileGlob(glob: string): KindMatcher | string {
  if (glob === '*') return () => true;
  const segments = glob.split('.');
  for (const seg of segments) {
    if (seg === '') return `glob "${glob}": empty segment`;
    if (!SEGMENT.test(seg)) return `glob "${glob}": unsupported syntax (use letters, digits, _, - and * within dot-separated segments)`;
    if (seg.includes('**')) return `glob "${glob}": "**" is not supported`;
  }
  if (!glob.includes('*')) return (kind) => kind === glob;
  const source = segments.map((seg) => seg.split('*').map(escapeRegExp).join('[^.]*')).join('\\.');
  const re = new RegExp(`^${source}$`);
  return (kind) => re.test(kind);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
