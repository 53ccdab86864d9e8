/**
 * Hold-back of the streaming redactor on a slow text stream: one ~70-byte
 * log line per chunk (a build log, a `tail -f`), masked as the proxy masks a
 * credential-only connection (the leased credential's exact forms, no
 * detectors) and as it masks `maskResponses: all` (every detector). After
 * each push, the bytes received but not yet released are what the client
 * waits for; the figures are their median and maximum.
 *
 *   npm run bench:holdback -w @agentgate/masking   [-- --lines 2000]
 *   MASKING_SRC=/path/to/other/masking/src/index.ts …   (compare another version)
 */
import { pathToFileURL } from 'node:url';

const argLines = process.argv.indexOf('--lines');
const LINES = argLines > 0 ? Number(process.argv[argLines + 1]) : 2000;
const src = process.env['MASKING_SRC'];
const { createMasker } = (await import(src ? pathToFileURL(src).href : '../src/index.js')) as typeof import('../src/index.js');

const credential = { ref: 'github-api/token', value: 'ghp_0123456789abcdefghijABCDEFGHIJ012345' };

function line(i: number): string {
  return `2026-11-30T15:00:${String(i % 60).padStart(2, '0')}Z step ${i}: compiling module-${i % 97} ok (${i * 7} ms)\n`;
}

function measure(name: string, masker: ReturnType<typeof createMasker>): void {
  const r = masker.stream();
  let inBytes = 0;
  let outBytes = 0;
  const held: number[] = [];
  for (let i = 0; i < LINES; i++) {
    const chunk = Buffer.from(line(i));
    inBytes += chunk.length;
    outBytes += r.push(chunk).length;
    held.push(inBytes - outBytes);
  }
  outBytes += r.end().length;
  held.sort((a, b) => a - b);
  const median = held[Math.floor(held.length / 2)];
  const max = held[held.length - 1];
  console.log(
    `${name}: maxHoldBack ${masker.maxHoldBack} B; held back after each ${Math.round(inBytes / LINES)}-byte line: median ${median} B, max ${max} B (${LINES} lines, ${inBytes} B in, ${outBytes} B out)`,
  );
}

const exactOnly = createMasker({ detectors: [], entropy: false }).withSecrets([credential]);
measure('credential only (git, registry, kubernetes; maskResponses: credential)', exactOnly);
measure('all detectors (maskResponses: all)', createMasker().withSecrets([credential]));
