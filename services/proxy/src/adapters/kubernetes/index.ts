import type { Masker } from '@agentgate/masking';
import { promptMaskerOf } from '../llm/prompt-mask.js';
import type { Adapter, AdapterRequest, Classification, Connection, SessionSpec } from '../types.js';
import { classifyKube, type KubeFacts, protectedNamespaces } from './classify.js';
import type { ObjectMode } from './mask-objects.js';
import { kubeOptions } from './options.js';
import { observeKube } from './response.js';
import { channelCodec } from './session.js';
import { renderStatus } from './status.js';
import { impersonation, loadCa, preferJson, setIdentityHeaders, upstreamTls } from './upstream.js';

/** The adapter's own facts of a request, carried in `classification.adapterState`. */
interface KubeState extends KubeFacts {
  readonly mode: ObjectMode | 'log' | undefined;
  readonly detectors: Masker | undefined;
}

function stateOf(c: Classification): KubeState | undefined {
  return c.adapterState as KubeState | undefined;
}

/** How a response of this request is masked (see README: Secrets, ConfigMaps, Events, logs). */
function maskMode(facts: KubeFacts): KubeState['mode'] {
  const i = facts.info;
  if (i.type !== 'resource') return undefined;
  if (i.group === '' && i.resource === 'secrets') return facts.secretsInClear ? undefined : 'secret';
  if (i.group === '' && i.resource === 'configmaps') return 'configmap';
  if (i.resource === 'events' && (i.group === '' || i.group === 'events.k8s.io')) return 'event';
  if (i.group === '' && i.resource === 'pods' && i.subresource === 'log') return 'log';
  return undefined;
}

async function detectorsFor(req: AdapterRequest): Promise<Masker> {
  // Fail closed: without the detectors the response cannot be masked, so it is not asked for.
  const { masker } = await promptMaskerOf(req, {
    missing: 'response masking is not configured on this gateway; request refused',
    unavailable: 'the secret masklist is unavailable, so the response cannot be masked; request refused',
  });
  return masker;
}

/** Start-up checks: the CA bundle is readable, the protected-namespace globs are compiled. */
function checkConnection(connection: Connection): void {
  loadCa(connection);
  protectedNamespaces.prepare(connection);
}

/**
 * The Kubernetes adapter (`type: kubernetes`): kubectl and client libraries
 * reach `https://gateway/<connection>` with the CI's OIDC token; every API
 * call is classified (classify.ts), decided, recorded and forwarded with the
 * connection's credential (bearer token or client certificate, the API
 * server verified against the CA bundle), optionally impersonating the
 * principal. Secrets come back masked; refusals are `Status` objects.
 */
export const kubernetesAdapter: Adapter = {
  type: 'kubernetes',
  upgrades: true,
  async classify(req: AdapterRequest): Promise<Classification> {
    const c = await classifyKube(req);
    const facts = c.adapterState as KubeFacts;
    const mode = maskMode(facts);
    const detectors = mode === 'configmap' || mode === 'event' || mode === 'log' ? await detectorsFor(req) : undefined;
    const who = impersonation(kubeOptions(req.connection), req.principal);
    const audit = c.audit?.kubernetes && who ? { ...c.audit, kubernetes: { ...c.audit.kubernetes, impersonated_user: who.user } } : c.audit;
    const state: KubeState = { ...facts, mode, detectors };
    return { ...c, ...(audit && { audit }), adapterState: state };
  },
  renderError: renderStatus,
  checkConnection,
  upstreamTls,
  upstreamHeaders(req, classification, headers) {
    setIdentityHeaders(headers, impersonation(kubeOptions(req.connection), req.principal));
    const st = stateOf(classification);
    if (st?.mode !== undefined) {
      preferJson(headers);
      // The body is parsed to be masked: ask for it uncompressed (the gateway sends it uncompressed anyway).
      delete headers['accept-encoding'];
    }
  },
  observeResponse(req, classification, head) {
    const st = stateOf(classification);
    if (!st || req.method === 'HEAD' || head.status === 204 || head.status === 304) return undefined;
    const opts = kubeOptions(req.connection);
    return observeKube(
      {
        mode: st.mode,
        watch: st.info.type === 'resource' && st.info.verb === 'watch',
        detectors: st.detectors,
        maxObjectBytes: opts.maxObjectBytes,
        connection: req.connection.name,
        audit: classification.audit?.kubernetes,
      },
      head,
    );
  },
  session(req, classification, protocol): SessionSpec {
    const codec = channelCodec(protocol);
    const base = classification.audit?.kubernetes;
    return {
      ...(codec && { codec }),
      recordBytes: kubeOptions(req.connection).sessionRecordBytes,
      audit: (s) => ({
        ...(base && {
          kubernetes: {
            ...base,
            session: {
              protocol: s.protocol || 'websocket',
              bytes_in: s.bytesIn,
              bytes_out: s.bytesOut,
              messages_in: s.messagesIn,
              messages_out: s.messagesOut,
              channels: s.channels,
              end: s.end,
            },
          },
        }),
      }),
    };
  },
};
