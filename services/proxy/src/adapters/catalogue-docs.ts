import type { ActionCatalogue } from '@agentgate/policy';

/** The README markers between which `npm run docs:kinds` writes the reference tables. */
export const KINDS_BEGIN = '<!-- action-kinds:begin (generated from services/proxy/src/adapters/catalogue.ts by `npm run docs:kinds`; do not edit) -->';
export const KINDS_END = '<!-- action-kinds:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|');
const code = (s: string) => `\`${s}\``;

/**
 * Renders the catalogue as two Markdown tables: the kinds (with the attribute names each
 * carries) and the attributes (one row per adapter and name, with what it holds), then the
 * connection options that only act through a rule.
 */
export function renderKindsTables(catalogue: ActionCatalogue): string {
  const lines = ['| type | action kind | when | `attrs.*` |', '|---|---|---|---|'];
  for (const a of catalogue) {
    for (const k of a.kinds) lines.push(`| ${a.type} | ${code(k.kind)} | ${cell(k.summary)} | ${Object.keys(k.attrs).map(code).join(', ')} |`);
  }
  lines.push('', '| type | attribute | holds | kinds |', '|---|---|---|---|');
  for (const a of catalogue) {
    const seen = new Map<string, { holds: string; kinds: string[] }>();
    for (const k of a.kinds) {
      for (const [name, holds] of Object.entries(k.attrs)) {
        const row = seen.get(name) ?? { holds, kinds: [] };
        row.kinds.push(k.kind);
        seen.set(name, row);
      }
    }
    for (const [name, row] of seen) {
      const missing = a.kinds.filter((k) => !row.kinds.includes(k.kind)).map((k) => code(k.kind));
      const kinds = missing.length === 0 ? 'all' : missing.length < row.kinds.length ? `all but ${missing.join(', ')}` : row.kinds.map(code).join(', ');
      lines.push(`| ${a.type} | ${code(name)} | ${cell(row.holds)} | ${kinds} |`);
    }
  }
  const options = catalogue.flatMap((a) => Object.entries(a.optionAttrs ?? {}).map(([option, attr]) => ({ type: a.type, option, attr })));
  if (options.length > 0) {
    lines.push('');
    for (const o of options) {
      lines.push(
        `Connection option ${code(`options.${o.option}`)} (${o.type}) only sets ${code(`attrs.${o.attr}`)}: it blocks nothing until a rule tests it (\`agentgate config check\` fails, start-up warns, when no rule for the connection reads it).`,
      );
    }
  }
  return lines.join('\n');
}

/** `text` with the part between the markers replaced by `body`; throws when the markers are missing. */
export function replaceBetweenMarkers(text: string, body: string): string {
  const begin = text.indexOf(KINDS_BEGIN);
  const end = text.indexOf(KINDS_END);
  if (begin < 0 || end < begin) throw new Error(`README has no ${KINDS_BEGIN} … ${KINDS_END} markers`);
  return `${text.slice(0, begin + KINDS_BEGIN.length)}\n${body}\n${text.slice(end)}`;
}

/** The part between the markers (trimmed), or undefined when they are missing. */
export function betweenMarkers(text: string): string | undefined {
  const begin = text.indexOf(KINDS_BEGIN);
  const end = text.indexOf(KINDS_END);
  return begin < 0 || end < begin ? undefined : text.slice(begin + KINDS_BEGIN.length, end).trim();
}
