/**
 * Throughput benchmark: ~100 MB mixed corpus (source, logs, JSON events,
 * secrets sprinkled), masked by this engine (maskText and the streaming
 * redactor) and scanned by gitleaks v8 on the same files in the same run.
 *
 *   npm run bench -w @agentgate/masking   [-- --mb 100]
 *
 * Numbers are not equal work: gitleaks only reports (and uses every core,
 * so its CPU time is printed too); this engine rewrites the text, on one core.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMasker } from '../src/index.js';
import { ALNUM, B64, B64URL, DIGITS, gen, HEX } from '../test/fixtures.js';

const MB = 1 << 20;
const argMb = process.argv.indexOf('--mb');
const TOTAL_MB = argMb > 0 ? Number(process.argv[argMb + 1]) : 100;
const FILE_MB = 1;

const brokered = Array.from({ length: 20 }, (_, i) => ({ ref: `conn/bench-${i}`, value: `Bk${gen(ALNUM, 30)}` }));

function plantedSecret(): string {
  const pick = Math.floor(Math.random() * 8);
  switch (pick) {
    case 0:
      return `GITHUB_TOKEN=ghp_${gen(ALNUM, 36)}`;
    case 1:
      return `aws_access_key_id = AKIA${gen('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`;
    case 2:
      return `Authorization: Bearer eyJ${gen(B64URL, 30)}.eyJ${gen(B64URL, 80)}.${gen(B64URL, 43)}`;
    case 3:
      return `"api_key": "${gen(ALNUM, 32)}"`;
    case 4:
      return `SLACK=xoxb-${gen(DIGITS, 12)}-${gen(DIGITS, 13)}-${gen(ALNUM, 24)}`;
    case 5:
      return `DATABASE_URL=postgres://app:${gen(ALNUM, 18)}@db:5432/app`;
    case 6:
      return `STRIPE=sk_live_${gen(ALNUM, 40)}`;
    default:
      return `registry token ${brokered[Math.floor(Math.random() * brokered.length)]!.value}`;
  }
}

function sourceLine(i: number): string {
  const t = [
    `export function handler${i}(req: Request, res: Response): Promise<void> {`,
    `  const url = new URL('/api/v1/items/${i}', 'https://example.com');`,
    `  // TODO(${gen(ALNUM, 6)}): retry with exponential backoff when the upstream returns 503`,
    `  const password = process.env.DB_PASSWORD; // read at runtime`,
    `  if (items.length > ${i % 97}) return res.status(200).json({ ok: true, count: items.length });`,
    `  logger.info({ requestId: req.id, tokenCount: ${i} }, 'handled request');`,
    `import { createHash } from 'node:crypto';`,
    `  const digest = createHash('sha256').update(body).digest('hex'); // ${gen(HEX, 16)}`,
    `}`,
  ];
  return t[i % t.length]!;
}

function logLine(i: number): string {
  const t = [
    `2025-06-01T12:${String(i % 60).padStart(2, '0')}:07.123Z INFO [req-${gen(HEX, 8)}] GET /api/v1/items/${i} 200 ${i % 900}ms user=alice`,
    `2025-06-01T12:00:07.456Z WARN  pool: connection ${i} idle for 30000ms, closing (max_tokens=4096 model=gpt)`,
    `2025-06-01T12:00:08.001Z DEBUG git: pushing refs/heads/feature-${i} -> ${gen(HEX, 40)}`,
    `2025-06-01T12:00:08.002Z ERROR upstream https://registry.example.com/v2/app/blobs/sha256:${gen(HEX, 64)} returned 404`,
  ];
  return t[i % t.length]!;
}

function jsonLine(i: number): string {
  return JSON.stringify({
    '@timestamp': '2025-06-01T12:00:00Z',
    event: { action: 'git.push', outcome: 'success', id: gen(HEX, 32) },
    user: { name: `runner-${i}` },
    url: { path: `/org/repo-${i % 50}.git/git-receive-pack` },
    gen_ai: { request: { model: 'claude' }, usage: { input_tokens: i, output_tokens: i * 2 } },
    labels: { note: gen(B64, 24) },
  });
}

function makeCorpus(dir: string): { files: string[]; planted: number } {
  const files: string[] = [];
  let planted = 0;
  let i = 0;
  for (let f = 0; f < TOTAL_MB / FILE_MB; f++) {
    const kind = f % 3;
    const lines: string[] = [];
    let size = 0;
    while (size < FILE_MB * MB) {
      const line = i % 250 === 0 ? plantedSecret() : kind === 0 ? sourceLine(i) : kind === 1 ? logLine(i) : jsonLine(i);
      if (i % 250 === 0) planted++;
      lines.push(line);
      size += line.length + 1;
      i++;
    }
    const name = join(dir, `${['src', 'app', 'events'][kind]}-${f}.${['ts', 'log', 'jsonl'][kind]}`);
    writeFileSync(name, `${lines.join('\n')}\n`);
    files.push(name);
  }
  return { files, planted };
}

function row(name: string, bytes: number, seconds: number, findings: string, extra = ''): void {
  const mbs = bytes / MB / seconds;
  console.log(`${name.padEnd(38)} ${mbs.toFixed(1).padStart(8)} MB/s ${seconds.toFixed(2).padStart(8)} s   ${findings.padEnd(22)} ${extra}`);
}

function sumFindings(list: { count: number }[]): number {
  return list.reduce((a, f) => a + f.count, 0);
}

const dir = mkdtempSync(join(tmpdir(), 'agentgate-mask-bench-'));
try {
  const { files, planted } = makeCorpus(dir);
  const buffers = files.map((f) => readFileSync(f));
  const texts = buffers.map((b) => b.toString('utf8'));
  const bytes = buffers.reduce((a, b) => a + b.length, 0);
  console.log(`corpus: ${(bytes / MB).toFixed(1)} MB in ${files.length} files (source, logs, JSON events), ${planted} planted secrets`);
  console.log(`node ${process.version}, ${process.arch}; gitleaks runs on every core, this engine on one\n`);

  const plain = createMasker();
  const withSecrets = plain.withSecrets(brokered);
  console.log(`detectors: ${plain.detectorIds.length}; stream window ${withSecrets.window} B, max hold-back ${withSecrets.maxHoldBack} B\n`);
  console.log(`${'engine'.padEnd(38)} ${'throughput'.padStart(13)} ${'wall'.padStart(10)}   findings`);

  for (const [name, m] of [
    ['agentgate maskText (detectors only)', plain],
    ['agentgate maskText (+20 secrets)', withSecrets],
  ] as const) {
    let n = 0;
    const t0 = performance.now();
    for (const t of texts) n += sumFindings(m.maskText(t).findings);
    row(name, bytes, (performance.now() - t0) / 1000, `${n} masked`);
  }
  {
    let n = 0;
    const t0 = performance.now();
    for (const b of buffers) {
      const r = withSecrets.stream();
      for (let pos = 0; pos < b.length; pos += 65536) r.push(b.subarray(pos, pos + 65536));
      r.end();
      n += sumFindings(r.findings());
    }
    row('agentgate stream, 64 KiB chunks (+20)', bytes, (performance.now() - t0) / 1000, `${n} masked`);
  }

  const gitleaks = [join(homedir(), 'go/bin/gitleaks'), '/usr/local/bin/gitleaks', '/usr/bin/gitleaks'].find(existsSync);
  if (!gitleaks) {
    console.log('\ngitleaks not found: go install github.com/zricethezav/gitleaks/v8@latest (lands in ~/go/bin)');
  } else {
    const mod = spawnSync('go', ['version', '-m', gitleaks], { encoding: 'utf8' }).stdout ?? '';
    const version = /\tmod\t\S+\t(v\S+)/.exec(mod)?.[1] ?? 'v8';
    // Default settings first (recursive base64/hex decoding, depth 5), then decoding off: raw rule speed.
    for (const decode of ['5', '0']) {
      const report = join(dir, `gitleaks-${decode}.json`);
      const args = ['dir', dir, '--no-banner', '--log-level', 'error', '--exit-code', '0', '--max-decode-depth', decode];
      args.push('--report-format', 'json', '--report-path', report);
      const useTime = existsSync('/usr/bin/time');
      const t0 = performance.now();
      const r = useTime
        ? spawnSync('/usr/bin/time', ['-f', '%U %S %M', gitleaks, ...args], { encoding: 'utf8' })
        : spawnSync(gitleaks, args, { encoding: 'utf8' });
      const wall = (performance.now() - t0) / 1000;
      if (r.status !== 0) console.log(`gitleaks failed (${r.status}): ${r.stderr.slice(-500)}`);
      const leaks = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as unknown[]).length : 0;
      let cpu = '';
      if (useTime) {
        const last = r.stderr.trim().split('\n').at(-1)?.split(' ') ?? [];
        cpu = `cpu ${(Number(last[0]) + Number(last[1])).toFixed(2)} s, max RSS ${Math.round(Number(last[2]) / 1024)} MB`;
      }
      row(`gitleaks ${version} dir, decode depth ${decode}`, bytes, wall, `${leaks} leaks`, cpu);
    }
  }
  const mem = process.memoryUsage();
  console.log(
    `\nthis process: max RSS ~${Math.round(process.resourceUsage().maxRSS / 1024)} MB (corpus held in memory), heap ${Math.round(mem.heapUsed / MB)} MB`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
