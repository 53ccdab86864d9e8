/**
 * Test helpers of the masking engine for other packages' tests (`@agentgate/masking/testing`,
 * source condition only: never built, never in an image): secret generators and
 * detector fixtures, the leak oracle (did any view of a byte stream expose a
 * secret?) and the labelled corpus with its scorer.
 */
export { ALNUM, B32, B64, B64URL, BECH32, DIGITS, FIXTURES, gen, HEX, LETTERS, UPPER_ALNUM } from './fixtures.js';
export { exposure, views } from './leak-oracle.js';
export { CORPUS_CONTEXTS, ENTRY_SEPARATOR, labelledCorpus, score, survives } from './corpus.js';
export type { DetectorFixture, Positive } from './fixtures.js';
export type { LabelledSecret } from './corpus.js';
