import type { z } from 'zod';

type Issue = z.core.$ZodIssue;
type Key = PropertyKey;

const PLAIN_KEY = /^[A-Za-z_@$][\w@$-]*$/;

/** `a.b[2].c`; odd keys are quoted (`labels["x.y"]`). */
export function formatPath(path: readonly Key[]): string {
  let out = '';
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else if (typeof k === 'string' && PLAIN_KEY.test(k)) out += out ? `.${k}` : k;
    else out += `[${JSON.stringify(String(k))}]`;
  }
  return out || '(root)';
}

/** Picks, in a failed union, the branch that got furthest (deepest issue path). */
function bestBranch(branches: Issue[][]): Issue[] {
  let best: Issue[] = [];
  let depth = -1;
  for (const b of branches) {
    const d = Math.max(...b.map((i) => i.path.length));
    if (d > depth) {
      depth = d;
      best = b;
    }
  }
  return best;
}

/** One line of text per problem, naming the path and what was expected; never the value received. */
export function flattenIssues(issues: readonly Issue[], prefix: readonly Key[] = []): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) out.push({ path: formatPath([...path, key]), message: 'unknown key' });
        break;
      case 'invalid_value':
        out.push({ path: formatPath(path), message: `expected one of ${issue.values.map(String).join('|')}` });
        break;
      case 'invalid_type':
        out.push({
          path: formatPath(path),
          // Zod keeps the received type (not the value) in its message; "undefined" means the key is missing.
          message: /received undefined$/.test(issue.message) ? `required (${issue.expected})` : `expected ${issue.expected}`,
        });
        break;
      case 'invalid_union':
        if ('options' in issue && Array.isArray(issue.options)) {
          out.push({ path: formatPath(path), message: `expected one of ${issue.options.map(String).join('|')}` });
        } else if (issue.errors.length > 0 && issue.errors.some((b) => b.length > 0)) {
          out.push(...flattenIssues(bestBranch(issue.errors), path));
        } else {
          out.push({ path: formatPath(path), message: issue.message });
        }
        break;
      default:
        out.push({ path: formatPath(path), message: issue.message });
    }
  }
  return out;
}
