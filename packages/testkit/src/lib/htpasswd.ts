import bcrypt from 'bcryptjs';
import { TestkitError } from '../errors.js';

// Cost 5: the lowest Distribution's Go bcrypt accepts (4) plus one; test registries need no strength, only speed.
const COST = 5;

/**
 * One htpasswd line `user:$2b$05$...` (bcrypt, the only scheme Distribution
 * accepts; Go's bcrypt reads the `2a`/`2b`/`2y` prefixes alike). Computed in
 * process with bcryptjs: no `htpasswd` binary, no Python (its `crypt` module,
 * the old fallback, is gone from Python 3.13), and the password never reaches
 * a command line `ps` could show.
 */
export function bcryptHtpasswdLine(username: string, password: string): string {
  // htpasswd's own rule: the user name ends at the first ':' and a line at a newline.
  if (username.includes(':') || /[\r\n]/.test(username)) {
    throw new TestkitError('ERR_HTPASSWD', 'an htpasswd user name holds no ":" and no line break');
  }
  return `${username}:${bcrypt.hashSync(password, COST)}`;
}
