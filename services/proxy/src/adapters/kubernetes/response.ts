import { Transform, type TransformCallback } from 'node:stream';
import type { KubernetesFields } from '@agentgate/events';
import type { Masker } from '@agentgate/masking';
import { ProxyError } from '../../errors.js';
import { IDLE_FLUSH_MS, IdleFlushMask } from '../../pipeline/idle-flush-mask.js';
import type { ResponseObserver, UpstreamHead } from '../types.js';
import { MaskTally, maskObjects, type ObjectMode } from './mask-objects.js';

/** What the observer of one response needs. */
export interface ObserveSpec {
  /** How objects are masked; undefined: nothing to mask (only the Status of a failure is read). */
  mode: ObjectMode | 'log' | undefined;
  watch: boolean;
  /** Detector masker (configured detectors + brokered values) for ConfigMaps, Events and logs. */
  detectors: Masker | undefined;
  maxObjectBytes: number;
  connection: string;
  /** The request's audit fields, completed with what the response showed. */
  audit: KubernetesFields | undefined;
}

function isJson(head: UpstreamHead): boolean {
  const ct = head.headers['content-type'];
  const v = (Array.isArray(ct) ? ct[0] : ct) ?? '';
  return /^application\/(json|[a-z0-9.+-]*\+json)\s*(;|$)/i.test(v.trim());
}

/**
 * The response observer of a Kubernetes call, or undefined when nothing
 * needs reading (the body then streams untouched, small answers on the
 * fast path). Masked responses must be JSON (the adapter asked for it):
 * anything else for a Secret read is refused (ERR_UPSTREAM_MEDIA_TYPE),
 * never passed unmasked; ConfigMaps and Events in another type get the
 * detectors over the raw text instead.
 */
export function observeKube(spec: ObserveSpec, head: UpstreamHead): ResponseObserver | undefined {
  const json = isJson(head);
  const failed = head.status >= 400;
  if (spec.mode === 'log') {
    if (!spec.detectors || failed) return undefined;
    const stage = new IdleFlushMask(spec.detectors, IDLE_FLUSH_MS);
    return { transform: stage, findings: () => stage.findings(), finish: () => (spec.audit ? { kubernetes: spec.audit } : {}) };
  }
  if (spec.mode === undefined) {
    // Only a failure's Status is worth reading (its reason goes on the record); successes stream untouched.
    return failed && json && !spec.watch ? documentObserver(spec, undefined) : undefined;
  }
  if (!json) {
    if (spec.mode === 'secret') {
      throw new ProxyError('ERR_UPSTREAM_MEDIA_TYPE', `connection "${spec.connection}": the Secret response is not JSON, so it cannot be masked; refused`);
    }
    if (!spec.detectors) return undefined;
    const stage = new IdleFlushMask(spec.detectors, IDLE_FLUSH_MS);
    return { transform: stage, findings: () => stage.findings(), finish: () => (spec.audit ? { kubernetes: spec.audit } : {}) };
  }
  return spec.watch ? watchObserver(spec, spec.mode) : documentObserver(spec, spec.mode);
}

function finishWith(spec: ObserveSpec, tally: MaskTally, reason: string | undefined): Pick<ResponseObserver, 'finish' | 'findings'> {
  return {
    findings: () => tally.findings(),
    finish: () =>
      spec.audit
        ? { kubernetes: { ...spec.audit, ...(tally.secretValues > 0 && { masked_values: tally.secretValues }), ...(reason && { status_reason: reason }) } }
        : {},
  };
}

/**
 * A whole JSON document (get, list, a write's answer): buffered up to
 * `maxObjectBytes` (a list is one document), parsed, masked, sent.
 * Past the bound the response is cut (ERR_UPSTREAM_TOO_LARGE): paginate.
 */
function documentObserver(spec: ObserveSpec, mode: ObjectMode | undefined): ResponseObserver {
  const tally = new MaskTally();
  let reason: string | undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      size += chunk.length;
      if (size > spec.maxObjectBytes) {
        cb(tooLarge(spec));
        return;
      }
      chunks.push(chunk);
      cb();
    },
    flush(cb: TransformCallback) {
      const bytes = Buffer.concat(chunks, size);
      chunks.length = 0;
      let doc: unknown;
      try {
        doc = JSON.parse(bytes.toString('utf8'));
      } catch {
        if (mode === 'secret') {
          cb(new ProxyError('ERR_UPSTREAM_MEDIA_TYPE', `connection "${spec.connection}": the Secret response is not valid JSON, so it cannot be masked; cut`));
          return;
        }
        // Not JSON after all (an error page): the detectors still run over it when masking.
        cb(null, spec.detectors && mode ? Buffer.from(spec.detectors.maskBytes(bytes).bytes) : bytes);
        return;
      }
      reason = statusReason(doc);
      if (mode === undefined) {
        cb(null, bytes);
        return;
      }
      cb(null, Buffer.from(JSON.stringify(maskObjects(doc, mode, spec.detectors, tally))));
    },
  });
  // The reason is known only once the body has been parsed: finish reads it then.
  return { transform, findings: () => tally.findings(), finish: () => finishWith(spec, tally, reason).finish() };
}

/**
 * A watch: newline-delimited JSON events, masked one by one as each
 * completes (never the whole stream in memory; one event at most
 * `maxObjectBytes`). The API server writes every event whole, followed by
 * a newline.
 */
function watchObserver(spec: ObserveSpec, mode: ObjectMode): ResponseObserver {
  const tally = new MaskTally();
  let pending: Buffer[] = [];
  let pendingSize = 0;
  const emit = (line: Buffer, out: Buffer[]): ProxyError | undefined => {
    if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) return undefined;
    let event: unknown;
    try {
      event = JSON.parse(line.toString('utf8'));
    } catch {
      return new ProxyError('ERR_UPSTREAM_MEDIA_TYPE', `connection "${spec.connection}": a watch event is not valid JSON, so it cannot be masked; cut`);
    }
    out.push(Buffer.from(`${JSON.stringify(maskObjects(event, mode, spec.detectors, tally))}\n`));
    return undefined;
  };
  const transform = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      const out: Buffer[] = [];
      let start = 0;
      for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
        const part = chunk.subarray(start, nl);
        const line = pendingSize > 0 ? Buffer.concat([...pending, part], pendingSize + part.length) : part;
        pending = [];
        pendingSize = 0;
        start = nl + 1;
        const err = emit(line, out);
        if (err) {
          cb(err);
          return;
        }
      }
      if (start < chunk.length) {
        pending.push(chunk.subarray(start));
        pendingSize += chunk.length - start;
        if (pendingSize > spec.maxObjectBytes) {
          cb(tooLarge(spec));
          return;
        }
      }
      cb(null, out.length > 0 ? Buffer.concat(out) : undefined);
    },
    flush(cb: TransformCallback) {
      const out: Buffer[] = [];
      const err = pendingSize > 0 ? emit(Buffer.concat(pending, pendingSize), out) : undefined;
      pending = [];
      cb(err ?? null, out.length > 0 ? Buffer.concat(out) : undefined);
    },
  });
  return { transform, ...finishWith(spec, tally, undefined) };
}

function tooLarge(spec: ObserveSpec): ProxyError {
  return new ProxyError(
    'ERR_UPSTREAM_TOO_LARGE',
    `connection "${spec.connection}": a response object exceeds the ${spec.maxObjectBytes} bytes the gateway buffers to mask it (options.maxObjectBytes); use limit/continue`,
  );
}

function statusReason(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as { kind?: unknown; reason?: unknown };
  return d.kind === 'Status' && typeof d.reason === 'string' && d.reason !== '' ? d.reason.slice(0, 64) : undefined;
}
