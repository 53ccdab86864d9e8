/** Error codes of the config package. Tests assert the code, never the message. */
export type ConfigErrorCode = 'ERR_CONFIG_INVALID' | 'ERR_CONFIG_NOT_FOUND' | 'ERR_CONFIG_PARSE';

/** One problem in a configuration: the key path (or environment variable) and what was expected; never the value. */
export interface ConfigIssue {
  path: string;
  message: string;
  /** 1-based line in the YAML file, when the key is in the file. */
  line?: number;
  col?: number;
}

/** Base error of the config package, with a typed code, the issues found and the cause passed through. */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly issues: readonly ConfigIssue[];
  /** The file that was read, when there was one. */
  readonly file: string | undefined;
  constructor(code: ConfigErrorCode, message: string, options?: { cause?: unknown; issues?: ConfigIssue[]; file?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConfigError';
    this.code = code;
    this.issues = Object.freeze([...(options?.issues ?? [])]);
    this.file = options?.file;
  }
}
