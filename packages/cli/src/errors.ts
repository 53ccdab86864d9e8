/** The CLI's own codes: a usage error (bad flags or arguments) or bad input (a file that does not parse). */
export type CliErrorCode = 'ERR_CLI_USAGE' | 'ERR_CLI_INPUT';

/** A usage or input error: printed as one line, exit code 2. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
  }
}

/**
 * Codes of a gateway call made by a command (`agentgate approvals`): the CLI's two for
 * a gateway it cannot reach or that answers without JSON, else the code the gateway
 * answered with (services/proxy/ERRORS.md) — kept as sent, since a newer gateway may
 * answer with a code this CLI does not know yet.
 */
export type ApprovalsCommandErrorCode = 'ERR_GATEWAY_UNREACHABLE' | 'ERR_GATEWAY_RESPONSE' | (string & {});

/** A refusal from the gateway (its error code) or an unreachable gateway; runCli prints `code: message`, exit 1. */
export class ApprovalsCommandError extends Error {
  readonly code: ApprovalsCommandErrorCode;
  constructor(code: ApprovalsCommandErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApprovalsCommandError';
    this.code = code;
  }
}
