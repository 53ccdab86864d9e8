import { spawnSync } from 'node:child_process';
import { TestkitError } from '../errors.js';
import { findBinary } from '../require-binary.js';

// Fallback when apache2-utils is absent: Python's crypt module (glibc/libxcrypt bcrypt), Python <= 3.12.
const PYTHON_BCRYPT =
  'import crypt,sys,warnings\nwarnings.simplefilter("ignore")\n' +
  'print(sys.argv[1] + ":" + crypt.crypt(sys.stdin.read(), crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1<<5)))';

function firstLine(out: string): string | undefined {
  const line = out.split('\n').find((l) => l.includes(':$2'));
  return line?.trim();
}

/**
 * One htpasswd line `user:$2y$...` (bcrypt, the only scheme Distribution
 * accepts). The password goes through stdin, never argv, so `ps` cannot see it.
 */
export function bcryptHtpasswdLine(username: string, password: string): string {
  const htpasswd = findBinary('htpasswd');
  if (htpasswd) {
    const res = spawnSync(htpasswd, ['-niB', '-C', '5', username], { input: `${password}\n`, encoding: 'utf8' });
    const line = res.status === 0 ? firstLine(res.stdout) : undefined;
    if (line) return line;
  }
  const python = findBinary('python3');
  if (python) {
    const res = spawnSync(python, ['-c', PYTHON_BCRYPT, username], { input: password, encoding: 'utf8' });
    const line = res.status === 0 ? firstLine(res.stdout) : undefined;
    if (line) return line;
  }
  throw new TestkitError(
    'ERR_HTPASSWD',
    'cannot generate a bcrypt htpasswd entry: apt-get install -y apache2-utils (or run .ci/install-deps.sh)',
  );
}
