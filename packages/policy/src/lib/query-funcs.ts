import { type CelFunc, type CelValue, CelScalar, celFunc, isCelList, isCelMap, listType } from '@bufbuild/cel';

/**
 * CEL helpers for query parameters. A repeated parameter arrives as a list
 * (`?force=false&force=true` → `attrs.query.force == ['false', 'true']`), so
 * `attrs.query.force == 'true'` silently does not match it, and upstreams
 * differ on which value wins (first, last, all). These read one parameter
 * the same way whether it came once or many times, and answer false/empty
 * (never an error) when the map or the key is absent, so a deny rule written
 * with them cannot be dodged by repeating or omitting a parameter:
 *
 * - `queryHas(attrs.query, 'force')`: the parameter is present (any value, even empty);
 * - `queryAny(attrs.query, 'force', 'true')`: some value equals 'true';
 * - `queryAll(attrs.query, 'force', 'true')`: present, and every value equals 'true';
 * - `queryValues(attrs.query, 'force')`: every value as a list of strings (empty when absent).
 */
export const QUERY_FUNCS: CelFunc[] = [
  celFunc('queryHas', [CelScalar.DYN, CelScalar.STRING], CelScalar.BOOL, (query, key) => valuesOf(query, key).length > 0),
  celFunc('queryAny', [CelScalar.DYN, CelScalar.STRING, CelScalar.STRING], CelScalar.BOOL, (query, key, value) => valuesOf(query, key).includes(value)),
  celFunc('queryAll', [CelScalar.DYN, CelScalar.STRING, CelScalar.STRING], CelScalar.BOOL, (query, key, value) => {
    const values = valuesOf(query, key);
    return values.length > 0 && values.every((v) => v === value);
  }),
  celFunc('queryValues', [CelScalar.DYN, CelScalar.STRING], listType(CelScalar.STRING), (query, key) => valuesOf(query, key)),
];

/** The values of `key` in a query map (a string or a list of strings per key); anything else reads as absent. */
function valuesOf(query: CelValue, key: string): string[] {
  if (!isCelMap(query)) return [];
  const v = query.get(key);
  if (typeof v === 'string') return [v];
  if (isCelList(v)) {
    const out: string[] = [];
    for (const item of v) if (typeof item === 'string') out.push(item);
    return out;
  }
  return [];
}
