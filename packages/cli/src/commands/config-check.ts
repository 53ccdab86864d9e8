import { type Config, checkConfig, formatConfigErrors } from '@agentgate/config';
import { type PolicyLintIssue, compileIssues, lintPolicy } from '@agentgate/policy';
import { parseCommandArgs } from '../lib/args.js';
import type { ExitCode, Output } from '../lib/output.js';

/**
 * What start-up would refuse or what could not mean what it says, beyond the schema: rules that
 * do not compile (compiled as start-up compiles them), and the catalogue checks (kinds and
 * attributes no adapter has, protectedRefs no rule reads) that start-up only warns about.
 */
export async function policyIssues(config: Config): Promise<PolicyLintIssue[]> {
  const compile = compileIssues(config);
  if (compile.length > 0) return compile;
  // The proxy owns the adapters' catalogue; it is loaded only here, so the other commands stay light.
  const { ACTION_CATALOGUE } = await import('@agentgate/proxy');
  return lintPolicy(config, ACTION_CATALOGUE);
}

/** `agentgate config check [FILE]`: validates a configuration file, names every bad key, exits 1 when invalid. */
export async function configCheck(args: string[], io: Output): Promise<ExitCode> {
  const { positionals } = parseCommandArgs('config', args, {}, 1);
  const result = checkConfig(positionals[0]);
  if (!result.ok) {
    io.err(formatConfigErrors(result.errors));
    return 1;
  }
  const issues = await policyIssues(result.config);
  if (issues.length > 0) {
    io.err(formatConfigErrors(issues));
    return 1;
  }
  io.out(`ok: ${JSON.stringify(result.summary)}`);
  return 0;
}
