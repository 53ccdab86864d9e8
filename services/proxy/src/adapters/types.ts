import type { IncomingHttpHeaders } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import type { Config } from '@agentgate/config';
import type { ActionEventInput, Principal } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import type { Finding, Masker } from '@agentgate/masking';
import type { ProxyError } from '../errors.js';
import type { Lease, PolicyPort } from '../lib/ports.js';
import type { ExchangeStore } from './llm/exchange-store.js';
import type { McpSessionStore } from './mcp/session-store.js';

/**
 * # Protocol adapters
 *
 * The pipeline (src/pipeline/) is the same for every protocol:
 * authenticate → classify → decide → lease → record → forward → mask → record.
 * An adapter supplies the protocol-specific parts only, through this
 * interface; adding a protocol is a new folder `src/adapters/<type>/` that
 * exports an {@link Adapter}, plus one line in `src/adapters/index.ts`.
 * The pipeline never branches on the connection type.
 *
 * ## How the adapters plug in
 *
 * Each adapter's own README (adapters/<type>/README.md, where there is one)
 * has the details; in short:
 *
 * - **http** (`type: http`): one action per request (`http.<method>`), the
 *   path and query as attributes; a forge connection (`options.forge`)
 *   classifies GitHub/GitLab REST and GraphQL calls as forge actions
 *   (http/forge/).
 *
 * - **git** (smart HTTP, `type: git`, see git/README.md): `classify` reads the URL
 *   (`/info/refs?service=…`, `/git-upload-pack`, `/git-receive-pack`); for a
 *   push it must see the ref-update commands before deciding, so it spools
 *   `req.body` to a temp file (bounded by `req.maxBodyBytes`), parses the
 *   pkt-line commands from the head, classifies each ref update (create,
 *   fast-forward, force-push by ancestry, delete, tag …), and returns
 *   `kind: 'git.push' | 'git.force_push' | …`, the refs in `audit.git`, and
 *   `body` = a read stream over the spooled file (so the forwarder sends the
 *   exact bytes). `renderError` turns a refusal into a git protocol error
 *   (`ERR <reason>` pkt-line / `report-status` with `ng <ref> <reason>`,
 *   status 200 with the git content type) so `git push` prints the reason;
 *   `challenge: 'basic'` makes 401s ask git for credentials. A push the
 *   gateway stays busy with (mirror update, approval, slow upstream) is kept
 *   alive in side-band 2: the adapter starts the response itself through
 *   `req.client` ({@link ClientLink}), exposes a {@link KeepAlive} on the
 *   classification, and declares the push an `effect`, so its upstream
 *   answer is read and recorded even if the client leaves.
 * - **llm** (`type: llm`): `classify` parses the JSON request body (bounded),
 *   masks (or, by `masking.promptSecrets`, refuses) secrets in the prompt,
 *   returns `kind: 'llm.exchange'` (`llm.request` for other endpoints), the
 *   model/tool fields in `audit.genAi`, `body` = the buffered (masked) bytes
 *   and the exchange's state in `adapterState`; `observeResponse` returns a
 *   pass-through Transform that parses SSE / JSON chunks as they stream
 *   (after masking) and, on `finish()`, returns the completion and tool
 *   calls for the completed event (`llm`, `genAi`).
 * - **kubernetes** (`type: kubernetes`, see adapters/kubernetes/README.md):
 *   `classify` resolves `/api[s]/<group>/<version>/namespaces/<ns>/<resource>/<name>/<sub>`
 *   and the method into the verb the API server will authorize, and decides
 *   it as `kubernetes.<verb>` plus named parts (`kubernetes.scale_to_zero`,
 *   `kubernetes.delete`, `kubernetes.exec`, …); it reads a write's body
 *   only when it could scale a workload to zero. Discovery reads are
 *   allowed by a built-in rule (`allow`). `upstreamHeaders` strips client
 *   `Impersonate-*` headers and impersonates the principal; `upstreamTls`
 *   verifies the API server against the connection's CA and presents a
 *   client certificate; `observeResponse` masks Secrets (and detector-masks
 *   ConfigMaps, Events, logs), watches event by event; exec/attach/
 *   port-forward are WebSocket upgrades (`upgrades: true`, pipeline/upgrade.ts,
 *   framed by `session`); `renderError` returns a `Status` object
 *   (`kind: Status`, `reason: Forbidden`) so kubectl prints the reason.
 * - **mcp** (`type: mcp`, see mcp/README.md): MCP Streamable HTTP. `classify`
 *   reads a POST whole (bounded), parses its JSON-RPC message or batch,
 *   masks tool arguments like a prompt and returns one part per message
 *   (`mcp.tools.call`, `mcp.initialize`, …), decided all-or-nothing; a
 *   session id must belong to the principal that opened it.
 *   `observeResponse` masks every answer message, filters `tools/list` by
 *   policy and binds a new session to the principal; refusals are JSON-RPC
 *   errors.
 * - **registry** (`type: registry`, see registry/README.md): clients reach it
 *   under `/v2/<connection>/…` (registry/route.ts maps that to the connection);
 *   `authorizeUpstream` runs the registry token flow, `responseHead` rewrites
 *   upload `Location` and `Link` headers into the gateway's URL space.
 */
/** A configured connection, as the frozen config holds it. */
export type Connection = Config['connections'][number];

export interface Adapter {
  /** The connection `type` this adapter serves. */
  readonly type: Connection['type'];
  /** Scheme of the 401 challenge when the client sent no usable credential (default bearer). */
  readonly challenge?: 'bearer' | 'basic';
  /** Turns one request into an action. May read (and must then replace) the body. Throw a ProxyError to refuse. */
  classify(req: AdapterRequest): Promise<Classification> | Classification;
  /** Renders a refusal in the protocol's own terms; default a JSON body `{error:{code,message,…}}`. */
  renderError?(err: ProxyError, ctx: RenderContext): RenderedError;
  /**
   * Observes the (already masked) response body as it streams, e.g. to record an LLM completion; the
   * transform may rewrite the body (the response then goes out chunked). `response` is the upstream's
   * head; throw a ProxyError to refuse the response before its head is sent (e.g. a media type the
   * adapter cannot mask).
   */
  observeResponse?(req: AdapterRequest, classification: Classification, response: UpstreamHead): ResponseObserver | undefined;
  /**
   * Puts the leased credential on the forwarded request instead of the plain injection (a registry's
   * token flow exchanges it for a scoped bearer first). Throw a ProxyError to refuse (nothing was forwarded).
   */
  authorizeUpstream?(req: AdapterRequest, classification: Classification, lease: Lease, headers: Record<string, string | string[]>): Promise<void>;
  /**
   * Rewrites the upstream response head before it is masked and sent (a registry's upload `Location`
   * and `Link` into the gateway's URL space), and adds audit fields learned from it for the completed
   * event. Throw a ProxyError to refuse the response (the client gets the error, the upstream body is dropped).
   */
  responseHead?(
    req: AdapterRequest,
    classification: Classification,
    head: UpstreamHead,
  ): { headers: Record<string, string | string[]>; audit?: Pick<ActionEventInput, 'registry'> };
  /** Checks a connection's adapter-specific settings once at start-up (files readable, …); a throw stops start-up. */
  checkConnection?(connection: Connection): void;
  /** Adjusts the upstream request headers: after client-only headers were removed, before the credential is injected. */
  upstreamHeaders?(req: AdapterRequest, classification: Classification, headers: Record<string, string | string[]>): void;
  /** TLS settings of the upstream connection (CA bundle, a client certificate from the lease). */
  upstreamTls?(connection: Connection, lease: Lease | undefined): UpstreamTls | undefined;
  /** The adapter's actions may be protocol upgrades (WebSocket), proxied by pipeline/upgrade.ts. */
  readonly upgrades?: boolean;
  /** How an upgraded session is framed, bounded and recorded (see pipeline/upgrade.ts); `protocol` is the negotiated subprotocol. */
  session?(req: AdapterRequest, classification: Classification, protocol: string): SessionSpec;
}

/** An upgraded session, as the adapter wants it relayed and recorded. */
export interface SessionSpec {
  /** Channel framing of the subprotocol; without one the session is relayed opaque (counted, not read or masked). */
  readonly codec?: SessionCodec;
  /** Bytes of each channel kept (masked) for the record. */
  readonly recordBytes: number;
  /** The completed event's protocol fields for the session. */
  audit(summary: SessionSummary): Pick<ActionEventInput, 'kubernetes' | 'labels'>;
}

/** What one relayed session amounted to. */
export interface SessionSummary {
  readonly protocol: string;
  /** Client → upstream bytes. */
  readonly bytesIn: number;
  /** Upstream → client bytes, as sent (after masking). */
  readonly bytesOut: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  /** Per channel: bytes seen and the first `recordBytes` of them, masked. */
  readonly channels: Record<string, { bytes: number; text?: string; truncated?: boolean }>;
  readonly end: 'client-closed' | 'upstream-closed' | 'protocol-error' | 'error';
  readonly findings: Finding[];
}

/** TLS options of an upstream connection; `key` identifies them (connections with the same key share a pool). */
export interface UpstreamTls {
  readonly key: string;
  readonly ca?: string | Buffer;
  readonly cert?: string;
  readonly privateKey?: string;
  readonly servername?: string;
}

/**
 * A WebSocket subprotocol whose binary messages carry numbered channels
 * (Kubernetes `v5.channel.k8s.io`: the first byte is the channel). Lets the
 * session relay mask and record each channel as a stream of its own, and
 * re-frame masked output as messages of the same channel.
 */
export interface SessionCodec {
  /** The channel of a message and its data, or undefined for a message that is not channel data. */
  split(payload: Buffer): { channel: number; data: Buffer } | undefined;
  /** A message carrying `data` on `channel`. */
  join(channel: number, data: Buffer): Buffer;
  /** Name of a channel in the record (`stdin`, `stdout`, …). */
  channelName(channel: number): string;
}

/** The status and headers (hop-by-hop already removed, names lower-case) of an upstream response. */
export interface UpstreamHead {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
}

/** What a refusal is rendered for: the classification once the request got that far (a JSON-RPC error names the request's id). */
export interface RenderContext {
  readonly connection: string | undefined;
  readonly requestId: string;
  readonly classification?: Classification | undefined;
}

/** What an adapter sees of a request, after authentication and target checks. */
export interface AdapterRequest {
  readonly method: string;
  readonly connection: Connection;
  /** Path after the connection name, percent-encoded as sent, starting with `/`. */
  readonly rawPath: string;
  /** The same, decoded per segment (dot segments and encoded separators were already refused). */
  readonly path: string;
  /** `?…` as sent, or ''. */
  readonly rawQuery: string;
  readonly query: Readonly<Record<string, string | string[]>>;
  /** Client headers (Authorization included: adapters must not copy it anywhere). */
  readonly headers: IncomingHttpHeaders;
  /** Declared body length, when the client sent Content-Length. */
  readonly contentLength: number | undefined;
  /** The request body, limited to `maxBodyBytes` (the stream errors beyond it). */
  readonly body: Readable;
  readonly maxBodyBytes: number;
  readonly principal: Principal;
  /** The gateway's data directory (`bus.dataDir`): adapters keep caches under it (the git mirrors). */
  readonly dataDir?: string;
  /** Leases the connection's credential for the adapter's own upstream calls (git mirror fetch); throws ERR_CREDENTIAL_UNAVAILABLE. */
  lease?(): Promise<Lease | undefined>;
  /** Another connection of this gateway and a lease of its credential (a forge's API decides ref updates on its git connection's mirror). */
  peer?(name: string): { readonly connection: Connection; lease(): Promise<Lease | undefined> } | undefined;
  /** Action id of this request's audit events (an llm exchange records it for correlation). */
  readonly actionId?: string;
  /** Asks policy about an auxiliary action (e.g. may Secret values be returned in clear); absent in unit tests. */
  decide?(action: { kind: string; attributes: Record<string, unknown> }): { effect: 'allow' | 'deny' | 'review'; rule: string | null; reason: string };
  /** Gateway services (prompt masking, exchange store); absent in unit tests that need none. */
  readonly services?: AdapterServices;
  /** The client's side of the exchange, for adapters that start the response before the upstream answers; absent in unit tests. */
  readonly client?: ClientLink;
}

/**
 * The client connection as an adapter may use it while the gateway works on
 * a long request: it may start the response early, to keep the client alive
 * in the protocol's own progress channel (git side-band 2). Generic: the
 * adapter chooses the head and every byte it writes; the pipeline only
 * learns that the head went out, and from then on sends refusals and the
 * upstream's answer through the adapter's {@link EarlyResponse}.
 */
export interface ClientLink {
  /** Aborted once the client has gone (its connection closed before the response ended). */
  readonly gone: AbortSignal;
  /**
   * Writes the response head now, before the upstream answers. Returns the
   * writer for body bytes (they are dropped once the client has gone), or
   * undefined when it is too late: the pipeline has already taken the
   * response for its own answer, or the client has gone.
   */
  startResponse(status: number, headers: Record<string, string>, early: EarlyResponse): ((chunk: Buffer) => void) | undefined;
}

/** An adapter's side of a response whose head went out early (see {@link ClientLink.startResponse}). */
export interface EarlyResponse {
  /** Stops the adapter's own writes; the bytes that end the response with this refusal, in the protocol's terms. */
  refusal(err: ProxyError): Buffer;
  /**
   * Stops the adapter's own writes: the upstream's answer follows in the
   * same body. Returns the refusal to send instead when the upstream's head
   * cannot continue it (an error status, another content type).
   */
  upstream(status: number, headers: Readonly<Record<string, string | string[] | undefined>>): ProxyError | undefined;
}

/**
 * What the pipeline may tell a client that an adapter keeps alive while the
 * gateway waits (an approval hold, the audit record, the upstream).
 */
export interface KeepAlive {
  /** What the gateway is doing or waiting for now; named in the periodic progress, e.g. "waiting for approval". */
  phase(text: string): void;
  /** A message for the client now (a hold's approval id and link); shown even to a client that asked for quiet. */
  notice(text: string): void;
  /** Stops the periodic progress: the pipeline answers now. */
  stop(): void;
}

/** Reads what the upstream did from its answer, for actions that change state upstream (see Classification.effect). */
export interface EffectObserver {
  /** Pass-through of the (masked) upstream body. */
  readonly transform: Transform;
  /** What the answer said: `failure` when the upstream refused all or part of the action. */
  finish(): { outcome: 'success' | 'failure'; reason?: string; labels: Record<string, string | number | boolean> };
}

/** Services built once per proxy that adapters may use. */
export interface AdapterServices {
  /** Masker for what goes to a model (brokered values + detectors); rejects when the masklist is unavailable. */
  promptMasker(): Promise<Masker>;
  /** `masking.promptSecrets`: mask a secret found in a prompt, or refuse the request. */
  readonly promptSecrets: 'mask' | 'refuse';
  /** A session's recent llm exchanges, for correlation (bus KV, shared by replicas). */
  readonly exchanges: ExchangeStore;
  /** The proxy's logger, for failures adapters work around (never for request content). */
  readonly log?: Logger;
  /** The compiled policy, for adapters that decide more than the request itself (the mcp adapter filters tools/list). */
  readonly policy?: PolicyPort;
  /** Which principal opened each MCP session (bus KV, shared by replicas). */
  readonly mcpSessions?: McpSessionStore;
}

/** The action an adapter found, and how to forward it. */
export interface Classification {
  /** Action kind for policy and audit, e.g. `http.get`, `git.force_push`. */
  readonly kind: string;
  /** Attributes policy conditions see as `attrs` (and the audit event records). */
  readonly attributes: Record<string, unknown>;
  /** Body to forward when the adapter consumed the original (spooled or buffered); `undefined` = stream the client body. */
  readonly body?: Readable | Buffer | null;
  /** Length of `body` when known (sent as Content-Length). */
  readonly bodyLength?: number;
  /**
   * SHA-256 (hex) and size of `body`, for an adapter that already holds the
   * exact bytes it forwards (a spooled git pack, digested while spooling): an
   * approval hold binds these instead of reading and spooling the body again,
   * so a held action is not limited to `approvals.maxBodyBytes`. Only set it
   * when `body` is exactly these bytes.
   */
  readonly bodyDigest?: { readonly sha256: string; readonly bytes: number };
  /**
   * What an approver should see of the action beyond its request line and
   * body, computed only when the action is held (it may be costly): for a
   * push, the commits it adds and, for a force-push, those it drops, with a
   * diffstat. Bounded by the adapter; masked by the hold before it is stored.
   */
  details?(): Promise<HeldDetails>;
  /** Protocol-specific audit fields copied into the requested/completed events. */
  readonly audit?: Pick<ActionEventInput, 'git' | 'registry' | 'llm' | 'mcp' | 'kubernetes' | 'genAi' | 'link' | 'masking'>;
  /** Parts decided one by one (a push's ref updates); the request goes on only when every part is allowed. */
  readonly parts?: ClassifiedParts;
  /**
   * The response body is content-addressed (a registry blob fetched by digest, which the client verifies):
   * it streams without masking, which could only corrupt it into a digest mismatch. Headers are still masked.
   * The trade-off is in registry/README.md ("Masking").
   */
  readonly verbatimBody?: boolean;
  /** The adapter refuses the action on its own rule (e.g. a secret in a prompt): recorded as a denial by `rule`, never forwarded. */
  readonly refusal?: { rule: string; reason: string };
  /**
   * The adapter could not finish classifying (the git mirror could not be
   * updated): the action, as far as it is known (kinds fail closed), is
   * recorded as `failed` with this error and refused with it; never decided,
   * never forwarded.
   */
  readonly failure?: ProxyError;
  /** Keeps the client informed while the gateway works on the action (git side-band progress). */
  readonly keepAlive?: KeepAlive;
  /**
   * The action changes state upstream (a git push). Once its body has gone
   * upstream whole it may have taken effect: the pipeline then no longer
   * aborts the upstream when the client goes away, reads the answer to its
   * end, and records what `observe` found in it (even without a client).
   */
  readonly effect?: { observe(): EffectObserver };
  /** The adapter allows the action by a built-in rule (discovery reads): recorded as allowed by `rule`, policy is not asked. */
  readonly allow?: { rule: string; reason: string };
  /** A watch, log follow or other stream that may stay open and quiet for long: no upstream body timeout, masked output flushed when idle. */
  readonly longRunning?: boolean;
  /** What the adapter keeps for its own later hooks (observeResponse, upstreamHeaders, session). */
  readonly adapterState?: unknown;
}

/** One commit as an approver sees it. */
export interface CommitSummary {
  readonly sha: string;
  readonly author: string;
  /** Author date, ISO 8601. */
  readonly date: string;
  readonly subject: string;
}

/** A diffstat, bounded: `files` lists at most a cap, the totals count every file. */
export interface DiffStat {
  readonly files: ReadonlyArray<{ readonly path: string; readonly added: number | null; readonly deleted: number | null }>;
  readonly filesChanged: number;
  readonly insertions: number;
  readonly deletions: number;
  /** True when `files` is not every changed file. */
  readonly truncated: boolean;
}

/** What one ref update of a held push changes. */
export interface RefChange {
  readonly ref: string;
  readonly old: string;
  readonly new: string;
  /** Audit vocabulary: create, fast-forward, force-push, delete, tag-create, tag-update, tag-delete. */
  readonly kind: string;
  /** Commits the update adds to the ref (`old..new`; for a new ref, those the upstream does not have), newest first. */
  readonly added: readonly CommitSummary[];
  readonly addedTruncated: boolean;
  /** Commits that leave the ref (`new..old`): non-empty only for a force-push or a deletion. */
  readonly lost: readonly CommitSummary[];
  readonly lostTruncated: boolean;
  /** `old` → `new` (absent for a creation or deletion). */
  readonly diffstat?: DiffStat;
}

/** Protocol-specific details of a held action (see {@link Classification.details}). */
export interface HeldDetails {
  readonly git?: { readonly repo: string; readonly refs: readonly RefChange[] };
}

/** The independently decided parts of one request (see pipeline/decide-parts.ts). */
export interface ClassifiedParts {
  readonly actions: ReadonlyArray<{ readonly kind: string; readonly attributes: Record<string, unknown> }>;
  /** Given each part's decision (same order): audit fields to record, and the refusal to send when a part is not allowed. */
  settle(decisions: ReadonlyArray<{ effect: 'allow' | 'deny' | 'review'; rule: string | null; reason: string }>): {
    audit?: Classification['audit'];
    refusal?: ProxyError;
  };
}

/** Audit fields a response observer adds to the completed event (an `outcome` of `failure` marks an answer that reports an error). */
export type ObservedFields = Pick<ActionEventInput, 'llm' | 'mcp' | 'registry' | 'kubernetes' | 'genAi' | 'link' | 'error' | 'outcome' | 'reason'>;

/** A pass-through observer of the response body. */
export interface ResponseObserver {
  /** Sees the body after the gateway's own masking; an adapter that rewrites it (the mcp adapter masks results) does so here. */
  readonly transform: Transform;
  /**
   * Sees the upstream's status and (masked) headers before the head goes
   * out, and returns the head to send (e.g. without Content-Length for a
   * body the transform rewrites). May throw a ProxyError to refuse the
   * answer instead: nothing of it has reached the client yet.
   */
  head?(status: number, headers: Record<string, string | string[]>): Promise<Record<string, string | string[]>>;
  /** What the transform itself masked, merged into the event's `agentgate.masking`. */
  findings?(): Finding[];
  /** Audit fields for the completed event, once the body has ended. */
  finish(): ObservedFields;
}

/** A refusal as the protocol expresses it. */
export interface RenderedError {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer;
}
