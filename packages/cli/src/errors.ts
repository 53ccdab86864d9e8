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
