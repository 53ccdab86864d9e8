import { z } from 'zod';

/** Shared field schemas of the configuration sections. */
export const port = z.number().int().min(1).max(65535);
export const posInt = z.number().int().positive();
export const nonEmpty = z.string().min(1);
/** A custom text for a malformed value only; a missing key keeps zod's "received undefined" so it reads as required. */
export function formatError(text: string) {
  return (issue: { code?: string }) => (issue.code === 'invalid_format' ? text : undefined);
}
export const httpUrl = z.url({ protocol: /^https?$/, error: formatError('expected an http(s) URL') });
/** Subject-safe slug: lower-case letters, digits, `-`, `_`; never `.`, `*`, `>` or spaces (it becomes a NATS subject token). */
export const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected a slug: a-z, 0-9, "-" or "_", starting with a letter or digit, at most 63 characters');
/** A claim match: one value or any of several. */
export const claimMatch = z.union([z.string(), z.array(z.string()).min(1)]);

/** Adds an issue for every value that occurs more than once in `values`. */
export function checkUnique(ctx: z.RefinementCtx, values: Array<string | undefined>, path: (i: number) => PropertyKey[], what: string): void {
  const seen = new Set<string>();
  values.forEach((v, i) => {
    if (v === undefined) return;
    if (seen.has(v)) ctx.addIssue({ code: 'custom', path: path(i), message: `duplicate ${what} "${v}"` });
    seen.add(v);
  });
}
