/** Crockford base32 alphabet (no I, L, O, U): sorts the same as the numbers it encodes. */
export const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Encodes a non-negative integer below 2^53 as exactly `len` base32 digits (most significant first). */
export function encodeInt(value: number, len: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < len; i++) {
    out = CROCKFORD[v % 32] + out;
    v = Math.floor(v / 32);
  }
  return out;
}

/** Encodes bytes whose bit length is a multiple of 5 (here: 10 bytes → 16 digits). */
export function encodeBytes(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/** Decodes base32 digits into an integer (caller keeps it below 2^53). Returns -1 on a foreign character. */
export function decodeInt(text: string): number {
  let v = 0;
  for (const ch of text) {
    const d = CROCKFORD.indexOf(ch);
    if (d < 0) return -1;
    v = v * 32 + d;
  }
  return v;
}
