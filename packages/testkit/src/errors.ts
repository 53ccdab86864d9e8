/** Codes of every error the testkit throws; tests assert the code, not the text. */
export type TestkitErrorCode =
  | 'ERR_BINARY_MISSING'
  | 'ERR_START_FAILED'
  | 'ERR_STOP_FAILED'
  | 'ERR_TIMEOUT'
  | 'ERR_PORT_UNAVAILABLE'
  | 'ERR_NOT_RUNNING'
  | 'ERR_CLASSPATH'
  | 'ERR_HTPASSWD'
  | 'ERR_COMMAND_FAILED';

/** Base error of @agentgate/testkit. */
export class TestkitError extends Error {
  readonly code: TestkitErrorCode;

  constructor(code: TestkitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TestkitError';
    this.code = code;
  }
}
