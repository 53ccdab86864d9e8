/** Error codes of the policy package. Tests branch on the code, never on the message. */
export type PolicyErrorCode =
  /** A rule does not compile (bad glob, CEL parse error, unknown variable or function, non-bool condition). */
  | 'ERR_POLICY_RULE'
  /** A described action handed to `testPolicy` is malformed. */
  | 'ERR_POLICY_INPUT';

/** Every code, for documentation checks and exhaustive handling. */
export const POLICY_ERROR_CODES: readonly PolicyErrorCode[] = ['ERR_POLICY_RULE', 'ERR_POLICY_INPUT'];

/** Base error of the policy package; `cause` keeps the underlying CEL or zod error. */
export class PolicyError extends Error {
  readonly code: PolicyErrorCode;
  constructor(code: PolicyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicyError';
    this.code = code;
  }
}
