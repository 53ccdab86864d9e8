import { ProxyError, type ProxyErrorCode } from '../../errors.js';
import type { GitService } from './route.js';

/** A refusal of a smart-HTTP request, rendered as a git `ERR` packet of the service's content type so git prints the reason. */
export class GitServiceError extends ProxyError {
  readonly service: GitService;
  readonly phase: 'advertise' | 'rpc';
  constructor(code: ProxyErrorCode, message: string, route: { service: GitService; phase: 'advertise' | 'rpc' }, cause?: unknown) {
    super(code, message, cause !== undefined ? { cause } : undefined);
    this.service = route.service;
    this.phase = route.phase;
  }
}

/**
 * A push refused per ref, rendered as a receive-pack report-status:
 * `unpack <status>` then `ng <ref> <reason>` for every ref of the push.
 */
export class GitPushRefusal extends ProxyError {
  readonly refs: ReadonlyArray<{ ref: string; reason: string }>;
  readonly capabilities: readonly string[];
  /** `ok`, or why the pack could not be unpacked (`git push` prints `remote unpack failed: …`). */
  readonly unpack: string;
  constructor(
    code: ProxyErrorCode,
    message: string,
    x: { refs: ReadonlyArray<{ ref: string; reason: string }>; capabilities: readonly string[]; unpack?: string; cause?: unknown },
  ) {
    super(code, message, x.cause !== undefined ? { cause: x.cause } : undefined);
    this.refs = x.refs;
    this.capabilities = x.capabilities;
    this.unpack = x.unpack ?? 'ok';
  }
}
