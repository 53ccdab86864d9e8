import { z } from 'zod';
import { httpUrl, nonEmpty, port } from '../lib/common.js';

/**
 * `telemetry`: Prometheus metrics and OpenTelemetry traces. Both are off
 * unless configured: no port is opened and no exporter runs by default
 * (exposing process internals is an explicit decision, like the gateway's
 * own listen address).
 */
export const telemetrySchema = z
  .strictObject({
    metrics: z
      .strictObject({
        /** Where `/metrics` (Prometheus text) is served; unset: not served. One endpoint per process. */
        listen: z.strictObject({ host: nonEmpty.default('127.0.0.1'), port }).optional(),
      })
      .prefault({}),
    tracing: z
      .strictObject({
        /** OTLP/HTTP traces endpoint (e.g. `http://collector:4318/v1/traces`); unset: tracing off (a no-op tracer). */
        otlpEndpoint: httpUrl.optional(),
        /** Fraction of new traces sampled (a client's sampled `traceparent` is always followed). */
        sampleRatio: z.number().min(0).max(1).default(1),
        /** `service.name` of the spans; default the service's own name (`proxy`, `masking`…). */
        serviceName: nonEmpty.optional(),
      })
      .prefault({}),
  })
  .prefault({});

export type TelemetryConfig = z.output<typeof telemetrySchema>;
