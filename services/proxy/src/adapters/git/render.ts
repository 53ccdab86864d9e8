import { FLUSH, pkt, sideband } from './pkt-line.js';

/** Text safe for one pkt-line: printable ASCII, no newline, bounded. */
export function oneLine(text: string, max = 400): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is removed
  const clean = text.replace(/[\u0000-\u001f\u007f-\uffff]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}

/**
 * A receive-pack result in which every ref is refused (`unpack <status>`, then
 * `ng <ref> <reason>`), in a side-band when the client asked for one, so
 * `git push` prints `! [remote rejected] <ref> (<reason>)` per ref.
 */
export function reportStatus(refs: ReadonlyArray<{ ref: string; reason: string }>, capabilities: readonly string[], unpack = 'ok'): Buffer {
  const report = Buffer.concat([pkt(`unpack ${oneLine(unpack, 200)}\n`), ...refs.map((r) => pkt(`ng ${r.ref} ${oneLine(r.reason)}\n`)), FLUSH]);
  if (capabilities.includes('side-band-64k') || capabilities.includes('side-band')) {
    const max = capabilities.includes('side-band-64k') ? 65515 : 995;
    return Buffer.concat([sideband(1, report, max), FLUSH]);
  }
  return report;
}

/** An `ERR <message>` packet: git prints `remote error: <message>` (or `fatal: remote error: …`). */
export function errPacket(message: string): Buffer {
  return pkt(`ERR ${oneLine(message, 1000)}\n`);
}
