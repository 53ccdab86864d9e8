import { ProxyError } from '../../errors.js';
import type { ClientLink, EarlyResponse, KeepAlive } from '../types.js';
import { GitPushRefusal } from './errors.js';
import { pkt } from './pkt-line.js';
import type { ReceivePackHead } from './receive-pack-head.js';
import { oneLine, reportStatus } from './render.js';

const RESULT_TYPE = 'application/x-git-receive-pack-result';
// An empty progress packet: git shows nothing, but bytes flow (proxies and load balancers see a live connection).
const EMPTY_PROGRESS = pkt(Buffer.from([2]));

/**
 * Keeps a `git push` alive while the gateway works on it (mirror update,
 * approval hold, audit record, a slow upstream): once the request body is
 * in and the gateway has been busy for `intervalMs`, it starts the
 * receive-pack result itself (200, side-band) and sends a band-2 packet
 * every `intervalMs`. git prints a text packet as `remote: agentgate: …`;
 * a client that asked for `quiet` gets empty packets (nothing printed,
 * the connection still carries bytes), except for notices.
 *
 * Once the head is out, everything after it must continue the same
 * side-band stream: a refusal becomes a report-status in band 1 (`ng <ref>
 * <reason>` for every ref, so git prints `! [remote rejected] …`), and the
 * upstream's own answer, already side-band framed because the client's
 * `side-band-64k` went upstream with the commands, is passed through after
 * the gateway's packets (pkt-lines need no re-framing: a stream of them is a
 * stream of them).
 *
 * Only pushes whose client asked for side-band can be kept alive: without
 * it the result has no channel but the report itself.
 */
export class GitProgress implements KeepAlive, EarlyResponse {
  readonly #client: ClientLink;
  readonly #head: ReceivePackHead;
  readonly #intervalMs: number;
  readonly #quiet: boolean;
  #write: ((chunk: Buffer) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #phase: string;
  #phaseSince = Date.now();

  /** A keep-alive for this push, or undefined when its client cannot be sent progress (no side-band, no client link). */
  static forPush(client: ClientLink | undefined, head: ReceivePackHead, intervalMs: number, phase: string): GitProgress | undefined {
    const banded = head.capabilities.includes('side-band-64k') || head.capabilities.includes('side-band');
    return client && banded ? new GitProgress(client, head, intervalMs, phase) : undefined;
  }

  private constructor(client: ClientLink, head: ReceivePackHead, intervalMs: number, phase: string) {
    this.#client = client;
    this.#head = head;
    this.#intervalMs = intervalMs;
    this.#quiet = head.capabilities.includes('quiet');
    this.#phase = phase;
    client.gone.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** True once the gateway has written the response head (the upstream's head is then never sent). */
  get started(): boolean {
    return this.#write !== undefined;
  }

  /** Starts the clock: the first packet goes out `intervalMs` from now if nobody has answered by then. Call once the request body is in. */
  arm(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  phase(text: string): void {
    this.#phase = text;
    this.#phaseSince = Date.now();
  }

  notice(text: string): void {
    if (this.#stopped || !this.#begin()) return;
    this.#send(`agentgate: ${text}`);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  refusal(err: ProxyError): Buffer {
    this.stop();
    if (err instanceof GitPushRefusal) return reportStatus(err.refs, this.#head.capabilities, err.unpack);
    const reason = oneLine(err.message);
    return reportStatus(
      this.#head.commands.map((c) => ({ ref: c.ref, reason })),
      this.#head.capabilities,
    );
  }

  upstream(status: number, headers: Readonly<Record<string, string | string[] | undefined>>): ProxyError | undefined {
    this.stop();
    const type = String(headers['content-type'] ?? '');
    if (status !== 200) return new ProxyError('ERR_UPSTREAM_FAILED', `the upstream answered the push with HTTP ${status}`);
    if (type.split(';')[0]?.trim() !== RESULT_TYPE) return new ProxyError('ERR_UPSTREAM_FAILED', 'the upstream answered the push with another content type');
    return undefined;
  }

  #tick(): void {
    if (this.#stopped) return;
    if (!this.#begin()) {
      // The pipeline answered first, or the client left: nothing to keep alive.
      this.stop();
      return;
    }
    if (this.#quiet) this.#write?.(EMPTY_PROGRESS);
    else this.#send(`agentgate: ${this.#phase} (${Math.round((Date.now() - this.#phaseSince) / 1000)}s)`);
  }

  /** Writes the head once; false when it is too late to. */
  #begin(): boolean {
    this.#write ??= this.#client.startResponse(200, { 'content-type': RESULT_TYPE }, this);
    return this.#write !== undefined;
  }

  #send(text: string): void {
    this.#write?.(pkt(Buffer.concat([Buffer.from([2]), Buffer.from(`${oneLine(text, 900)}\n`)])));
  }
}
