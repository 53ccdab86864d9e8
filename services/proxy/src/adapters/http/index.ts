import type { ProxyError } from '../../errors.js';
import { errorBody } from '../../lib/respond.js';
import type { Adapter, AdapterRequest, Classification, RenderedError } from '../types.js';
import { classifyForge } from './forge/index.js';

/** The `http.<method>` classification; `body` is the buffered body when the forge step read it. */
function generic(req: AdapterRequest, body?: Buffer): Classification {
  const contentType = req.headers['content-type'];
  return {
    kind: `http.${req.method.toLowerCase()}`,
    attributes: {
      method: req.method,
      path: req.path,
      query: { ...req.query },
      ...(contentType !== undefined && { contentType }),
      ...(req.contentLength !== undefined && { contentLength: req.contentLength }),
    },
    ...(body !== undefined && { body, bodyLength: body.length }),
  };
}

/**
 * The generic HTTP adapter (any REST API): the action kind is `http.` +
 * the lower-case method, and policy sees method, decoded path, query,
 * content type and declared length. The body is streamed untouched.
 * On a connection with `options.forge` (GitHub, GitLab), the calls that
 * weaken protection, reach secrets or CI, or destroy history are named
 * `forge.*` actions first (forge/index.ts).
 */
export const httpAdapter: Adapter = {
  type: 'http',
  classify(req: AdapterRequest): Classification | Promise<Classification> {
    const forge = req.connection.type === 'http' ? req.connection.options?.forge : undefined;
    if (!forge) return generic(req);
    return classifyForge(req, forge, generic).then((c) => c ?? generic(req));
  },
  renderError(err: ProxyError, ctx: { connection: string | undefined; requestId: string }): RenderedError {
    // The gateway's `error` object, plus a top-level `message` as GitHub and GitLab answer, so their clients (gh, glab, Octokit) print the reason.
    const body = JSON.stringify({ message: `agentgate: ${err.message} (${err.code})`, ...JSON.parse(errorBody(err, ctx)) });
    return { status: err.status, headers: { 'content-type': 'application/json; charset=utf-8' }, body };
  },
};
