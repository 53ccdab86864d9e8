/**
 * Globs, compiled once (at start-up, never per request) into matchers. One
 * compiler serves two dialects, which differ in their separator and in what
 * they refuse:
 *
 * - `kind` (policy `actions`, the default): dot-separated segments, each made
 *   of `[A-Za-z0-9_-]` and `*` (any run of characters inside one segment).
 *   `*` alone matches every kind; `http.*` matches `http.get` but not `http`;
 *   `git.*_ref` matches `git.create_ref`. Anything else (`?`, `[...]`,
 *   `{a,b}`, `**`, empty segments) is refused: a glob we would read
 *   differently from its author could open a gate.
 * - `path` (git `protectedRefs`, kubernetes `protectedNamespaces`):
 *   `/`-separated; `*` matches within one segment, `**` across segments
 *   (`refs/tags/**`); every other character is literal and nothing is
 *   refused (a ref name may hold almost any character). A namespace holds no
 *   `/`, so there `*` matches any run of characters.
 */
export type GlobDialect = 'kind' | 'path';

/** A compiled glob (or set of globs). */
export type GlobMatcher = (value: string) => boolean;

/** A compiled action-kind glob. */
export type KindMatcher = GlobMatcher;

/** Which dialect to compile (see the module comment); `kind` when absent. */
export interface GlobOptions {
  readonly dialect?: GlobDialect;
}

const KIND_SEGMENT = /^[A-Za-z0-9_*-]+$/;

interface Dialect {
  readonly separator: string;
  /** An error text for a glob the dialect refuses, else undefined. */
  check(glob: string): string | undefined;
}

const DIALECTS: Record<GlobDialect, Dialect> = {
  kind: {
    separator: '.',
    check(glob) {
      for (const seg of glob.split('.')) {
        if (seg === '') return `glob "${glob}": empty segment`;
        if (!KIND_SEGMENT.test(seg)) return `glob "${glob}": unsupported syntax (use letters, digits, _, - and * within dot-separated segments)`;
        if (seg.includes('**')) return `glob "${glob}": "**" is not supported`;
      }
      return undefined;
    },
  },
  path: { separator: '/', check: () => undefined },
};

/** The regular expression source of a glob the dialect accepted: `*` stays within a segment, `**` crosses them. */
function globSource(glob: string, separator: string): string {
  const oneSegment = `[^${escapeRegExp(separator)}]*`;
  return glob
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? oneSegment : escapeRegExp(part)))
    .join('');
}

/**
 * Compiles one glob. Returns an error text instead of throwing (the caller
 * names the rule or option); a `path` glob is never refused.
 */
export function compileGlob(glob: string, options: { readonly dialect: 'path' }): GlobMatcher;
export function compileGlob(glob: string, options?: GlobOptions): GlobMatcher | string;
export function compileGlob(glob: string, options: GlobOptions = {}): GlobMatcher | string {
  const dialect = options.dialect ?? 'kind';
  // A lone star is every action kind, dots included (the one place a kind glob crosses segments).
  if (dialect === 'kind' && glob === '*') return () => true;
  const { separator, check } = DIALECTS[dialect];
  const error = check(glob);
  if (error !== undefined) return error;
  if (!glob.includes('*')) return (value) => value === glob;
  const re = new RegExp(`^${globSource(glob, separator)}$`);
  return (value) => re.test(value);
}

/** Compiles a list of `path` globs into one matcher: true when any of them matches (none: never). */
export function compileGlobs(globs: readonly string[], options: { readonly dialect: 'path' }): GlobMatcher {
  if (globs.length === 0) return () => false;
  const { separator } = DIALECTS[options.dialect];
  const re = new RegExp(`^(?:${globs.map((g) => globSource(g, separator)).join('|')})$`);
  return (value) => re.test(value);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
