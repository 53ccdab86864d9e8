/**
 * A labelled corpus for masking figures: every positive detector fixture
 * (67 secrets of the 58 detector types) in six places a secret is found in
 * traffic: a CI log line, a JSON API field (so JSON-escaped), a YAML list,
 * a shell command, a markdown code block and an HTML page. Each entry says
 * which secret it holds, so a masked body can be scored entry by entry.
 */
import { FIXTURES } from './fixtures.js';

export interface LabelledSecret {
  /** Detector type of the fixture. */
  readonly type: string;
  /** Where it was put (log, json, yaml, shell, markdown, html). */
  readonly context: string;
  /** The entry as it appears in a body. */
  readonly text: string;
  /** The part that must not survive masking. */
  readonly secret: string;
}

const CONTEXTS: Record<string, (text: string, i: number) => string> = {
  log: (t) => `2025-06-01T12:00:00.000Z INFO [step 3] output: ${t}`,
  json: (t, i) => JSON.stringify({ id: i, type: 'comment', body: t }),
  yaml: (t) => `items:\n  - ${t}`,
  shell: (t) => `$ echo "${t}" >> .env`,
  markdown: (t) => `Run this:\n\n\`\`\`\n${t}\n\`\`\``,
  html: (t) => `<pre class="log">${t}</pre>`,
};

/** Every labelled entry: one per positive fixture and context. */
export function labelledCorpus(): LabelledSecret[] {
  const out: LabelledSecret[] = [];
  let i = 0;
  for (const [context, place] of Object.entries(CONTEXTS)) {
    for (const [type, f] of Object.entries(FIXTURES)) {
      for (const p of f.positive) out.push({ type, context, text: place(p.text, i++), secret: p.secret });
    }
  }
  return out;
}

/** The contexts, in corpus order. */
export const CORPUS_CONTEXTS = Object.keys(CONTEXTS);

/** Separator between entries in a body: nothing a detector matches runs across it. */
export const ENTRY_SEPARATOR = '\n<<entry>>\n';

/**
 * True when the entry's secret can still be read from `text`: the secret or
 * its JSON-escaped form whole, or any 16 consecutive characters of either
 * (so a partly masked secret counts as exposed).
 */
export function survives(text: string, secret: string): boolean {
  for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) {
    if (text.includes(form)) return true;
    for (let i = 0; i + 16 <= form.length; i++) if (text.includes(form.slice(i, i + 16))) return true;
  }
  return false;
}

/**
 * Scores a masked body of `entries` joined by ENTRY_SEPARATOR, entry by
 * entry (the same secret sits in several contexts, so each is judged in its
 * own place): masked/total and the entries whose secret survived.
 */
export function score(body: string, entries: readonly LabelledSecret[]): { masked: number; total: number; missed: string[] } {
  const parts = body.split(ENTRY_SEPARATOR);
  if (parts.length !== entries.length) throw new Error(`masked body has ${parts.length} entries, expected ${entries.length}`);
  const missed = entries.filter((e, i) => survives(parts[i]!, e.secret)).map((e) => `${e.type} in ${e.context}`);
  return { masked: entries.length - missed.length, total: entries.length, missed };
}
