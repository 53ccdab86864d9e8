import { type EndpointStat, snapshot } from '../lib/endpoint-stats.js';
import { runHandler } from '../lib/service-call.js';
import { InFlight } from '../lib/tracker.js';
import type { EndpointOptions, RequestHandler, Service, ServiceInfo, ServiceStats, Subscription } from '../types.js';
import type { InprocRouter } from './core.js';

/** A service on the in-process router: endpoints in queue groups, stop waits for requests in flight. */
export class InprocService implements Service {
  readonly info: ServiceInfo;
  #router: InprocRouter;
  #subs: Subscription[] = [];
  #stats: EndpointStat[] = [];
  #inflight = new InFlight();
  #stopped = false;

  constructor(router: InprocRouter, info: ServiceInfo) {
    this.#router = router;
    this.info = info;
  }

  addEndpoint<Req, Res>(name: string, handler: RequestHandler<Req, Res>, opts: EndpointOptions): void {
    const stat: EndpointStat = { name, subject: opts.subject, requests: 0, errors: 0, inFlight: 0 };
    this.#stats.push(stat);
    const sub = this.#router.subscribe(
      opts.subject,
      async (msg) => {
        if (this.#stopped || !msg.reply) return;
        const reply = msg.reply;
        stat.requests++;
        stat.inFlight++;
        await this.#inflight.run(async () => {
          const { reply: out, failed } = await runHandler(handler as RequestHandler, msg);
          if (failed) stat.errors++;
          stat.inFlight--;
          if (!this.#router.closed) this.#router.publish(reply, out.data, out.headers);
        });
      },
      { queue: opts.queue ?? `q-${this.info.name}` },
    );
    this.#subs.push(sub);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#subs.map((s) => s.unsubscribe()));
    await this.#inflight.idle();
  }

  stats(): ServiceStats {
    return snapshot(this.info.name, this.#stats);
  }
}
