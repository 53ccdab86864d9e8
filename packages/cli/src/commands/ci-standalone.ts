import { CliError } from '../errors.js';
import { stdio } from '../lib/output.js';
import { CI_USAGE, ci } from './ci-command.js';

/**
 * The `agentgate ci` commands on their own, with nothing but node's
 * built-ins: bundled into ci/dist/agentgate-ci.mjs (`npm run bundle:ci -w
 * @agentgate/cli`), which the GitHub Action and the GitLab template run.
 * Accepts `ci env …` or `env …`.
 */
async function main(argv: string[]): Promise<number> {
  const args = argv[0] === 'ci' ? argv.slice(1) : argv;
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
    stdio.out(CI_USAGE);
    return args.length === 0 ? 2 : 0;
  }
  try {
    return await ci(args, stdio);
  } catch (err) {
    if (err instanceof CliError) {
      stdio.err(err.message);
      return 2;
    }
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_')) {
      stdio.err(`${code}: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
