/** One challenge of a `WWW-Authenticate` header: scheme (lower-case) and its auth-params (names lower-case). */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

/**
 * Parses `WWW-Authenticate` values (RFC 9110 §11.6.1): `Bearer
 * realm="https://auth/token",service="registry",scope="repository:a:pull"`,
 * `Basic realm="x"`, several challenges separated by commas. Quoted strings
 * may hold commas and backslash escapes. Bounded: at most 4 KiB is read,
 * and malformed input yields what parsed before it, never an exception.
 */
export function parseChallenges(value: string | string[] | undefined): Challenge[] {
  const text = (Array.isArray(value) ? value.join(', ') : (value ?? '')).slice(0, 4096);
  const out: Array<{ scheme: string; params: Record<string, string> }> = [];
  let i = 0;
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === ',')) i++;
  };
  while (i < text.length) {
    ws();
    const scheme = TOKEN.exec(text.slice(i))?.[0];
    if (!scheme) break;
    i += scheme.length;
    const current = { scheme: scheme.toLowerCase(), params: {} as Record<string, string> };
    out.push(current);
    // auth-params: name=value pairs until the next bare token (the next challenge's scheme).
    for (;;) {
      ws();
      const name = TOKEN.exec(text.slice(i))?.[0];
      if (!name) return out;
      const after = i + name.length;
      let j = after;
      while (text[j] === ' ') j++;
      if (text[j] !== '=') break; // a new challenge starts here
      j++;
      while (text[j] === ' ') j++;
      let v = '';
      if (text[j] === '"') {
        j++;
        while (j < text.length && text[j] !== '"') {
          if (text[j] === '\\' && j + 1 < text.length) j++;
          v += text[j];
          j++;
        }
        j++;
      } else {
        const m = TOKEN.exec(text.slice(j))?.[0] ?? '';
        v = m;
        j += m.length;
      }
      current.params[name.toLowerCase()] = v;
      i = j;
    }
  }
  return out;
}
