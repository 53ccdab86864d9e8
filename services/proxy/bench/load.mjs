// The load generator of bench/latency.ts, in its own process (plain JavaScript: no tsx wrappers in the
// measured loop). Protocol on stdio: argv[2] is a JSON job; after its warm-up it prints `warm`, waits for a
// line on stdin (the bench samples the other processes' CPU then), runs, prints `done <json>` and exits.
//
//   job: { origin, path, headers, mode: 'seq' | 'conc', n, conc? }
//   seq  -> { p50, p90, p99, max, n }   (milliseconds, one request at a time on one connection)
//   conc -> { rps, n, conc }            (conc connections, each one request at a time)
import { once } from 'node:events';
import { Client } from 'undici';

const job = JSON.parse(process.argv[2]);

async function one(client) {
  const r = await client.request({ method: 'GET', path: job.path, headers: job.headers });
  await r.body.dump();
  if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function go() {
  process.stdout.write('warm\n');
  await once(process.stdin, 'data');
}

if (job.mode === 'seq') {
  const client = new Client(job.origin, { pipelining: 1 });
  for (let i = 0; i < 300; i++) await one(client);
  await go();
  const lat = new Float64Array(job.n);
  for (let i = 0; i < job.n; i++) {
    const s = performance.now();
    await one(client);
    lat[i] = performance.now() - s;
  }
  lat.sort();
  const out = { n: job.n, p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99), max: lat[lat.length - 1] };
  process.stdout.write(`done ${JSON.stringify(out)}\n`);
  await client.close();
} else {
  const clients = Array.from({ length: job.conc }, () => new Client(job.origin, { pipelining: 1 }));
  await Promise.all(clients.map(async (c) => { for (let i = 0; i < 20; i++) await one(c); }));
  await go();
  let left = job.n;
  const start = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      while (left-- > 0) await one(c);
    }),
  );
  const secs = (performance.now() - start) / 1000;
  process.stdout.write(`done ${JSON.stringify({ n: job.n, conc: job.conc, rps: job.n / secs })}\n`);
  await Promise.all(clients.map((c) => c.close()));
}
process.exit(0);
