import { readFileSync } from 'node:fs';
import { loadConfig } from '@agentgate/config';
import { formatDecision, parseDescribedAction, testPolicy } from '@agentgate/policy';
import { CliError } from '../errors.js';
import { parseCommandArgs, usageError } from '../lib/args.js';
import type { ExitCode, Output } from '../lib/output.js';

/**
 * `agentgate policy test --action FILE [--config FILE] [--json]`: evaluates a
 * described action (JSON or YAML; `-` for stdin) against the configuration's
 * policy and prints the decision and the rule that made it. Exit 0 allow, 3 deny, 4 review.
 */
export async function policyTest(args: string[], io: Output): Promise<ExitCode> {
  const { values } = parseCommandArgs('policy', args, {
    action: { type: 'string', short: 'a' },
    config: { type: 'string', short: 'c' },
    json: { type: 'boolean' },
  });
  if (!values.action) throw usageError('policy', '--action FILE is required');
  let text: string;
  try {
    text = readFileSync(values.action === '-' ? 0 : values.action, 'utf8');
  } catch (cause) {
    throw new CliError('ERR_CLI_INPUT', `cannot read ${values.action}`, { cause });
  }
  const config = loadConfig(values.config ? { path: values.config } : {});
  const result = testPolicy(config, parseDescribedAction(text));
  io.out(values.json ? JSON.stringify(result.decision) : formatDecision(result.decision, result.action));
  return result.decision.effect === 'allow' ? 0 : result.decision.effect === 'deny' ? 3 : 4;
}
