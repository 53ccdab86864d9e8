import type { ProxyError } from '../../errors.js';
import type { Adapter, AdapterRequest, Classification, RenderedError } from '../types.js';
import { GitPushRefusal, GitServiceError } from './errors.js';
import { classifyPush, protectedRefs } from './receive-pack.js';
import { errPacket, reportStatus } from './render.js';
import { type GitRoute, routeOf } from './route.js';

/**
 * The git adapter (smart HTTP, `type: git`): advertisements and
 * upload-pack (protocol v0/v1/v2, the Git-Protocol header passed through)
 * are `git.fetch`; a receive-pack is classified per ref update by real
 * ancestry (see receive-pack.ts) and decided per ref, all-or-nothing.
 * Refusals reach `git` in its own protocol so it prints the reason.
 */
export const gitAdapter: Adapter = {
  type: 'git',
  // git answers a Basic challenge by asking its credential helper (the CI token as password).
  challenge: 'basic',
  // protectedRefs are compiled at start-up, never on the request path.
  checkConnection: (connection) => protectedRefs.prepare(connection),
  async classify(req: AdapterRequest): Promise<Classification> {
    const route = routeOf(req);
    if (route.service === 'git-receive-pack' && route.phase === 'rpc') return classifyPush(req, route);
    return readClassification(route);
  },
  renderError(err: ProxyError): RenderedError {
    if (err instanceof GitPushRefusal) {
      return { status: 200, headers: { 'content-type': 'application/x-git-receive-pack-result' }, body: reportStatus(err.refs, err.capabilities, err.unpack) };
    }
    if (err instanceof GitServiceError) {
      const type = err.phase === 'advertise' ? `application/x-${err.service}-advertisement` : `application/x-${err.service}-result`;
      return { status: 200, headers: { 'content-type': type }, body: errPacket(err.message) };
    }
    // Everything else (401 challenges included) keeps its HTTP status: git reports it, and asks for credentials on a 401.
    return { status: err.status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `${err.code}: ${err.message}\n` };
  },
};

/** Advertisements and fetches: read actions, streamed untouched. */
function readClassification(route: GitRoute): Classification {
  const attributes = { repo: route.repo, service: route.service, phase: route.phase, protocol: route.protocol };
  const kind = 'git.fetch';
  return {
    kind,
    attributes,
    // A single part, so a refusal is rendered as a git ERR packet of this service instead of a JSON body git cannot show.
    parts: {
      actions: [{ kind, attributes }],
      settle(decisions) {
        const d = decisions[0];
        if (!d || d.effect === 'allow') return {};
        const by = d.rule ? `rule ${d.rule}` : 'the policy default';
        const text =
          d.effect === 'review' ? `approval required (${by})` : d.reason.startsWith('denied by') ? `denied by ${by}` : `denied by ${by}: ${d.reason}`;
        return { refusal: new GitServiceError(d.effect === 'review' ? 'ERR_APPROVAL_REQUIRED' : 'ERR_POLICY_DENIED', text, route) };
      },
    },
  };
}
