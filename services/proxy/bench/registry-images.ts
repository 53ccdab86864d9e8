/**
 * Writes the registry bench's source images (OCI layouts of random gzip
 * layers) in a process of its own, so the ~0.5 GB of garbage each one makes
 * never lands in the gateway's heap (see bench/registry.ts).
 *
 *   node --conditions=agentgate-source --import tsx bench/registry-images.ts '[{"dir":"/tmp/x","mb":200,"layers":4}]'
 */
import { writeBigOciImage } from '../test/registry-harness.js';

const jobs = JSON.parse(process.argv[2] ?? '[]') as Array<{ dir: string; mb: number; layers: number }>;
for (const j of jobs) writeBigOciImage(j.dir, { mb: j.mb, layers: j.layers });
