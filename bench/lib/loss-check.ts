/**
 * Zero-loss check of one step: every request answered 200 has exactly one `requested` and
 * one `completed` event in OpenSearch (found by its trace id), and no event names a request
 * that was never sent.
 */
import { eventsByTrace } from './observe.js';
import { traceIdOf } from './trace-id.js';

export interface LossFigures {
  /** 200s whose two events were both checked. */
  checked: number;
  /** 200s missing their requested or completed event. */
  missing: number;
  /** 200s with more than one requested or completed event. */
  duplicated: number;
  /** Trace ids in the index that this step never sent. */
  unknown: number;
  /** Events of the step by phase (all requests, 200 or not). */
  byPhase: Record<string, number>;
  /** False when more requests failed than their numbers were kept: the failed ones are then not told apart. */
  exact: boolean;
  /** A few trace ids of missing events, for a look in the logs. */
  examples: string[];
}

/** Reads the step's events from OpenSearch and compares them with what the load generator sent. */
export async function checkLoss(osUrl: string, prefix: string, sent: number, failed: number[], failedCount: number): Promise<LossFigures> {
  return compareEvents(await eventsByTrace(osUrl, prefix), prefix, sent, failed, failedCount);
}

/**
 * `found`: events per trace id and phase (consumed). Requests 0..sent-1 were sent; `failed` lists those
 * that did not get a 200 (all of them unless `failedCount` is larger).
 */
export function compareEvents(found: Map<string, Record<string, number>>, prefix: string, sent: number, failed: number[], failedCount: number): LossFigures {
  const failedSet = new Set(failed);
  const byPhase: Record<string, number> = {};
  for (const row of found.values()) for (const [phase, n] of Object.entries(row)) byPhase[phase] = (byPhase[phase] ?? 0) + n;
  let checked = 0;
  let missing = 0;
  let duplicated = 0;
  const examples: string[] = [];
  for (let n = 0; n < sent; n++) {
    if (failedSet.has(n)) continue;
    const id = traceIdOf(prefix, n);
    const row = found.get(id);
    found.delete(id);
    if (failedCount > failed.length && !row) continue;
    checked++;
    const requested = row?.['requested'] ?? 0;
    const completed = row?.['completed'] ?? 0;
    if (requested === 0 || completed === 0) {
      missing++;
      if (examples.length < 5) examples.push(id);
    } else if (requested > 1 || completed > 1) duplicated++;
  }
  for (const n of failed) found.delete(traceIdOf(prefix, n));
  return { checked, missing, duplicated, unknown: found.size, byPhase, exact: failedCount === failed.length, examples };
}
