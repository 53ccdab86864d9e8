import { context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type TextMapGetter, type Tracer, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';

/** The proxy's stages, each a span under the request's span (README: Tracing). */
export type Stage = 'authenticate' | 'decide' | 'lease' | 'record' | 'forward' | 'mask';

/** Options of {@link initTracing}. */
export interface TracingOptions {
  /** `service.name` of the spans. */
  serviceName: string;
  /** OTLP/HTTP traces endpoint; with neither it nor `exporter`, tracing stays off. */
  otlpEndpoint?: string | undefined;
  /** Fraction of new traces sampled (default 1); a caller's sampled `traceparent` is always followed. */
  sampleRatio?: number | undefined;
  /** Export here instead, span by span (tests: an InMemorySpanExporter). */
  exporter?: SpanExporter;
}

/** Headers as the bus carries them, or as node's http parses them. */
export type HeaderCarrier = Record<string, string | string[] | undefined>;

let provider: BasicTracerProvider | undefined;
let tracer: Tracer | undefined;

const getter: TextMapGetter<HeaderCarrier> = {
  keys: (c) => Object.keys(c),
  get: (c, key) => c[key],
};

/**
 * Turns tracing on for this process when configured (`telemetry.tracing`):
 * a tracer provider exporting over OTLP/HTTP in batches, W3C trace-context
 * propagation and an AsyncLocalStorage context (so a stage's span finds
 * its request's span without passing it along). Returns whether tracing is
 * on. When it is off, nothing is registered: `@opentelemetry/api` answers
 * with its no-op tracer, and every helper here returns at its first line.
 */
export function initTracing(opts: TracingOptions): boolean {
  if (provider) return true;
  if (!opts.otlpEndpoint && !opts.exporter) return false;
  const processor = opts.exporter ? new SimpleSpanProcessor(opts.exporter) : new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.otlpEndpoint }));
  provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName, 'service.namespace': 'agentgate' }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(opts.sampleRatio ?? 1) }),
    spanProcessors: [processor],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  tracer = trace.getTracer('agentgate');
  return true;
}

/** Flushes the spans still buffered and turns tracing off again (shutdown, tests). */
export async function shutdownTracing(): Promise<void> {
  const p = provider;
  provider = undefined;
  tracer = undefined;
  if (!p) return;
  await p.forceFlush().catch(() => {});
  await p.shutdown().catch(() => {});
  trace.disable();
  context.disable();
  propagation.disable();
}

/** Whether spans are made in this process. */
export function tracingEnabled(): boolean {
  return tracer !== undefined;
}

function endWith(span: Span, err: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode(err) });
  span.setAttribute('error.type', errorCode(err));
  span.end();
}

/** The error's code (`ERR_…`), never its message: a message may quote input, and spans leave the process. */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code.slice(0, 64) : 'error';
}

/**
 * Runs one stage of the proxy's pipeline in a span `agentgate.<stage>`
 * under the active (request) span. Off: calls `fn` and nothing else.
 */
export function stage<T>(name: Stage, fn: () => Promise<T>): Promise<T> {
  if (tracer === undefined) return fn();
  return tracer.startActiveSpan(`agentgate.${name}`, (span) =>
    fn().then(
      (v) => {
        span.end();
        return v;
      },
      (err: unknown) => {
        endWith(span, err);
        throw err;
      },
    ),
  );
}

/** {@link stage} for a synchronous stage (policy decides in-process). */
export function stageSync<T>(name: Stage, fn: () => T): T {
  if (tracer === undefined) return fn();
  return tracer.startActiveSpan(`agentgate.${name}`, (span) => {
    try {
      const v = fn();
      span.end();
      return v;
    } catch (err) {
      endWith(span, err);
      throw err;
    }
  });
}

/** A span of a stage whose end is not a promise's (the response masking, as long as the body streams). */
export function startStage(name: Stage): Span | undefined {
  return tracer?.startSpan(`agentgate.${name}`);
}

/**
 * Runs `fn` in a new span continuing the caller's trace: the parent comes
 * from the carrier's `traceparent` (a client's HTTP request, a NATS message),
 * else a new trace starts. `kind`: server for a request, consumer for a
 * stream message. The span ends when `fn`'s promise settles, or, when `fn`
 * calls the `hold` it gets, at the `end()` that returns.
 */
export function continueTrace<T>(
  carrier: HeaderCarrier,
  name: string,
  kind: 'server' | 'consumer',
  attributes: Record<string, string | number>,
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (tracer === undefined) return fn(undefined);
  const parent = propagation.extract(ROOT_CONTEXT, carrier, getter);
  const span = tracer.startSpan(name, { kind: kind === 'server' ? SpanKind.SERVER : SpanKind.CONSUMER, attributes }, parent);
  return context.with(trace.setSpan(parent, span), () => fn(span));
}

/** Ends a span begun by {@link continueTrace} with an error status when `err` is set. */
export function endSpan(span: Span | undefined, err?: unknown): void {
  if (span === undefined) return;
  if (err !== undefined) endWith(span, err);
  else span.end();
}

/**
 * Writes the active span's `traceparent` (and `tracestate`) into outgoing
 * headers: an upstream request, a NATS message. Off, or outside any span:
 * leaves the headers as they are.
 */
export function injectTraceContext(carrier: Record<string, string | string[]>): void {
  if (tracer === undefined) return;
  propagation.inject(context.active(), carrier);
}

/** The active span's `traceparent` (and `tracestate`) as new headers for a bus message or request; undefined when off. */
export function traceHeaders(): Record<string, string> | undefined {
  if (tracer === undefined) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** Trace and span id of the active span (for `trace.id` / `span.id` of audit events); undefined when off or outside a span. */
export function activeTraceIds(): { traceId: string; spanId: string } | undefined {
  if (tracer === undefined) return undefined;
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && trace.isSpanContextValid(ctx) ? { traceId: ctx.traceId, spanId: ctx.spanId } : undefined;
}

/** Sets attributes on the active span (the request's, in the proxy). */
export function annotate(attributes: Record<string, string | number | boolean>): void {
  if (tracer === undefined) return;
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** The spans of a batch of stream messages, ended together. */
export interface BatchSpans {
  /** Ends every span (with an error status when `err` is set). */
  end(err?: unknown): void;
}

const NO_SPANS: BatchSpans = { end: () => {} };

/**
 * One consumer span per message of a batch (`agentgate.index` in the
 * writer), each continuing the trace of its message's `traceparent`, so a
 * request's trace runs proxy → masking → writer. Off: a shared no-op.
 */
export function batchSpans(name: string, msgs: ReadonlyArray<{ headers: HeaderCarrier }>): BatchSpans {
  if (tracer === undefined) return NO_SPANS;
  const t = tracer;
  const spans = msgs.map((m) => t.startSpan(name, { kind: SpanKind.CONSUMER }, propagation.extract(ROOT_CONTEXT, m.headers, getter)));
  return {
    end: (err?: unknown) => {
      for (const s of spans) endSpan(s, err);
    },
  };
}

/**
 * Headers that carry a stream message's trace on to the next stream (the
 * masking service's clean events): the span's context when tracing, else
 * the message's own `traceparent`/`tracestate` unchanged, so the writer's
 * side still names the request's trace. Undefined when there is none.
 */
export function carriedTrace(msgHeaders: Readonly<Record<string, string>>, span?: Span): Record<string, string> | undefined {
  if (tracer !== undefined && span !== undefined) {
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
    return carrier;
  }
  const traceparent = msgHeaders['traceparent'];
  if (traceparent === undefined) return undefined;
  const tracestate = msgHeaders['tracestate'];
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}

/** A consumer span continuing a stream message's trace (the masking service, per event); undefined when off. */
export function messageSpan(name: string, msgHeaders: HeaderCarrier): Span | undefined {
  if (tracer === undefined) return undefined;
  return tracer.startSpan(name, { kind: SpanKind.CONSUMER }, propagation.extract(ROOT_CONTEXT, msgHeaders, getter));
}
