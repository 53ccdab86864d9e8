import { type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import { Svcm, type Service as NatsService, type ServiceMsg } from '@nats-io/services';
import { type EndpointStat, snapshot } from '../lib/endpoint-stats.js';
import { makeMsg } from '../lib/codec.js';
import { runHandler } from '../lib/service-call.js';
import { InFlight } from '../lib/tracker.js';
import type { EndpointOptions, Headers, RequestHandler, Service, ServiceInfo, ServiceStats } from '../types.js';

function headersOf(m: ServiceMsg): Headers {
  const out: Headers = {};
  if (m.headers) for (const [k, v] of m.headers) out[k] = v[0] ?? '';
  return out;
}

/** A NATS micro-service (so `$SRV.PING|INFO|STATS` answer), with stop waiting for handlers in flight. */
export class NatsBusService implements Service {
  readonly info: ServiceInfo;
  #svc: NatsService;
  #stats: EndpointStat[] = [];
  #inflight = new InFlight();
  #nc: NatsConnection;

  private constructor(nc: NatsConnection, svc: NatsService, info: ServiceInfo) {
    this.#nc = nc;
    this.#svc = svc;
    this.info = info;
  }

  static async create(nc: NatsConnection, info: ServiceInfo): Promise<NatsBusService> {
    const svc = await new Svcm(nc).add({
      name: info.name,
      version: info.version,
      description: info.description ?? '',
      queue: `q-${info.name}`,
    });
    return new NatsBusService(nc, svc, info);
  }

  addEndpoint<Req, Res>(name: string, handler: RequestHandler<Req, Res>, opts: EndpointOptions): void {
    const stat: EndpointStat = { name, subject: opts.subject, requests: 0, errors: 0, inFlight: 0 };
    this.#stats.push(stat);
    this.#svc.addEndpoint(name, {
      subject: opts.subject,
      queue: opts.queue ?? `q-${this.info.name}`,
      handler: (err, m) => {
        if (err) return;
        stat.requests++;
        stat.inFlight++;
        void this.#inflight.run(async () => {
          const msg = makeMsg(m.subject, m.data, headersOf(m), m.reply);
          const { reply, failed } = await runHandler(handler as RequestHandler, msg);
          stat.inFlight--;
          if (failed) stat.errors++;
          if (this.#nc.isClosed()) return;
          try {
            const h = Object.entries(reply.headers);
            if (h.length > 0) {
              const nh = natsHeaders();
              for (const [k, v] of h) nh.set(k, v);
              m.respond(reply.data, { headers: nh });
            } else m.respond(reply.data);
          } catch {
            // A reply that cannot be sent must not become an unhandled rejection that ends the service:
            // the caller gets its deadline error instead.
            stat.errors++;
          }
        });
      },
    });
  }

  async stop(): Promise<void> {
    await this.#svc.stop();
    await this.#inflight.idle();
  }

  stats(): ServiceStats {
    return snapshot(this.info.name, this.#stats);
  }
}
