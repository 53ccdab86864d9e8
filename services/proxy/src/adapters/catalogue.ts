import { METHODS } from 'node:http';
import type { ActionCatalogue, CatalogueAdapter } from '@agentgate/policy';
import { FORGE_BASE_ATTRS, FORGE_KINDS } from './http/forge/kinds.js';

/**
 * # The action catalogue
 *
 * Every action kind the adapters classify requests into, and the attributes policy sees as
 * `attrs.*` for each: the one source of truth that `agentgate config check` (errors),
 * start-up (warnings) and the README's reference table (`npm run docs:kinds`) read. An
 * adapter's tests check that what it classifies is listed here.
 *
 * Adding an adapter is one entry in ACTION_CATALOGUE.
 */

const refUpdateAttrs = {
  repo: 'repository path as requested, decoded (`/acme/app.git`)',
  ref: 'the full ref name (`refs/heads/main`, `refs/tags/v1.2`)',
  refType: '`branch`, `tag` or `other`',
  old: 'old object id (40 zeros when the ref is created)',
  new: 'new object id (40 zeros when the ref is deleted)',
  fastForward: 'true only when the old commit is an ancestor of the new one (real history, not the client flag)',
  protected: "true when the ref matches the connection's `options.protectedRefs` (blocks nothing by itself: a rule must test it)",
} as const;

const http: CatalogueAdapter = {
  type: 'http',
  kinds: [
    {
      kind: 'http.<method>',
      values: METHODS.map((m) => `http.${m.toLowerCase()}`),
      summary: 'any request; the kind is the lower-case method (`http.get`, `http.post`, `http.delete`, …)',
      attrs: {
        method: 'the method as sent (`GET`)',
        path: 'the path after the connection name, decoded per segment',
        query: 'the query parameters (name → value, or list of values)',
        contentType: 'the `Content-Type` header, when sent',
        contentLength: 'the declared body length, when sent',
      },
    },
    // A connection with `options.forge` names the forge API's dangerous calls (README "The forge API's dangerous calls").
    ...Object.entries(FORGE_KINDS).map(([kind, spec]) => ({ kind, summary: `options.forge: ${spec.summary}`, attrs: { ...FORGE_BASE_ATTRS, ...spec.attrs } })),
  ],
};

const git: CatalogueAdapter = {
  type: 'git',
  optionAttrs: { protectedRefs: 'protected' },
  kinds: [
    {
      kind: 'git.fetch',
      summary: 'ref advertisement (`info/refs`, for fetch and push) and upload-pack (clone, fetch, pull)',
      attrs: {
        repo: refUpdateAttrs.repo,
        service: '`git-upload-pack` or `git-receive-pack`',
        phase: '`advertise` (GET info/refs) or `rpc` (POST)',
        protocol: 'wire protocol version from `Git-Protocol` (0, 1 or 2)',
      },
    },
    { kind: 'git.push', summary: 'a ref update that fast-forwards a branch (or other non-tag ref)', attrs: refUpdateAttrs },
    { kind: 'git.force_push', summary: 'a ref update that is not a fast-forward (history rewritten)', attrs: refUpdateAttrs },
    { kind: 'git.create_ref', summary: 'a new branch (or other non-tag ref)', attrs: refUpdateAttrs },
    { kind: 'git.delete_ref', summary: 'a branch (or other non-tag ref) deleted', attrs: refUpdateAttrs },
    { kind: 'git.tag_create', summary: 'a new tag', attrs: refUpdateAttrs },
    { kind: 'git.tag_move', summary: 'an existing tag pointed elsewhere (whatever the ancestry)', attrs: refUpdateAttrs },
    { kind: 'git.tag_delete', summary: 'a tag deleted', attrs: refUpdateAttrs },
  ],
};

const llm: CatalogueAdapter = {
  type: 'llm',
  kinds: [
    {
      kind: 'llm.exchange',
      summary: 'POST to `…/chat/completions`, `…/responses` (OpenAI) or `…/messages` (Anthropic)',
      attrs: {
        provider: '`openai` or `anthropic` (the connection option)',
        api: '`chat.completions`, `responses` or `messages`',
        model: 'the requested model, when named',
        max_tokens: 'the output token limit, when set',
        stream: 'true for a streamed (SSE) exchange',
        tools: 'names of the tools offered to the model',
        messages: 'number of input messages',
      },
    },
    {
      kind: 'llm.request',
      summary: 'any other request to the provider (model lists, files, …)',
      attrs: {
        provider: '`openai` or `anthropic` (the connection option)',
        method: 'the method as sent',
        path: 'the path after the connection name, decoded per segment',
        model: 'the model a JSON body names, when it names one',
      },
    },
  ],
};

const registryAttrs = {
  repository: 'upstream repository name, without the connection',
  target: '`manifest`, `blob`, `upload`, `tags` or `catalog`',
  operation:
    '`read`, `upload-start`, `upload-monolithic`, `upload-chunk`, `upload-finish`, `upload-status`, `upload-cancel`, `mount`, `put-manifest` or `delete`',
  tag: 'the tag, when the request names one',
  digest: 'the digest named or computed (a pushed manifest, a tag resolved before a delete)',
  mediaType: "a pushed manifest's media type",
  size: "request body bytes (a manifest's length, a chunk's declared length)",
  tagExisted: 'manifest push to a tag, tag delete: whether the tag existed upstream',
  previousDigest: 'manifest push to an existing tag: its digest before',
  mountFrom: "a cross-repository mount's source repository",
  layers: 'layers of a pushed image manifest, entries of an index',
} as const;
const { repository, target, operation, tag, digest } = registryAttrs;

const registry: CatalogueAdapter = {
  type: 'registry',
  kinds: [
    { kind: 'registry.pull', summary: 'manifest or blob `GET`/`HEAD`, `GET tags/list`', attrs: { repository, target, operation, tag, digest } },
    {
      kind: 'registry.push',
      summary: 'blob uploads and mounts; a manifest `PUT` to a new tag, to a tag with the same digest, or by digest',
      attrs: registryAttrs,
    },
    {
      kind: 'registry.tag_overwrite',
      summary: 'a manifest `PUT` to a tag that exists upstream with another digest (asked upstream before deciding)',
      attrs: {
        repository,
        target,
        operation,
        tag,
        digest,
        mediaType: registryAttrs.mediaType,
        size: registryAttrs.size,
        tagExisted: registryAttrs.tagExisted,
        previousDigest: registryAttrs.previousDigest,
        layers: registryAttrs.layers,
      },
    },
    {
      kind: 'registry.delete',
      summary: 'manifest (tag or digest) or blob `DELETE`',
      attrs: { repository, target, operation, tag, digest, tagExisted: registryAttrs.tagExisted },
    },
    { kind: 'registry.catalog', summary: '`GET /v2/_catalog`, decided per connection', attrs: { target, operation } },
  ],
};

const mcpMethod = {
  method: 'the JSON-RPC method (`tools/call`); `GET` or `DELETE` for the stream and the session end',
  id: 'the JSON-RPC id (string or integer)',
} as const;
const mcpArguments = 'the arguments object (masked; `{}` when none were sent), so `attrs.arguments.x` reads a field';

const mcp: CatalogueAdapter = {
  type: 'mcp',
  kinds: [
    { kind: 'mcp.initialize', summary: '`initialize`', attrs: { ...mcpMethod, client: "the client's `clientInfo.name`, when sent" } },
    { kind: 'mcp.ping', summary: '`ping`', attrs: mcpMethod },
    {
      kind: 'mcp.tools.list',
      summary: '`tools/list` (with `options.filterTools`, the answer hides tools policy denies whatever their arguments)',
      attrs: mcpMethod,
    },
    { kind: 'mcp.tools.call', summary: '`tools/call`', attrs: { ...mcpMethod, tool: 'the tool name', arguments: mcpArguments } },
    { kind: 'mcp.resources.list', summary: '`resources/list`, `resources/templates/list`', attrs: mcpMethod },
    { kind: 'mcp.resources.read', summary: '`resources/read`', attrs: { ...mcpMethod, uri: 'the resource URI' } },
    { kind: 'mcp.resources.subscribe', summary: '`resources/subscribe`, `resources/unsubscribe`', attrs: { ...mcpMethod, uri: 'the resource URI' } },
    { kind: 'mcp.prompts.list', summary: '`prompts/list`', attrs: mcpMethod },
    { kind: 'mcp.prompts.get', summary: '`prompts/get`', attrs: { ...mcpMethod, prompt: 'the prompt name', arguments: mcpArguments } },
    { kind: 'mcp.completion', summary: '`completion/complete`', attrs: mcpMethod },
    { kind: 'mcp.logging', summary: '`logging/setLevel`', attrs: mcpMethod },
    { kind: 'mcp.request', summary: 'any other request (its name in `attrs.method`)', attrs: mcpMethod },
    { kind: 'mcp.notification', summary: 'a notification (`notifications/…`)', attrs: { method: mcpMethod.method } },
    { kind: 'mcp.response', summary: "the client's answer to a server request (sampling, elicitation, roots)", attrs: { id: mcpMethod.id } },
    { kind: 'mcp.stream', summary: "`GET`: the server's event stream", attrs: { method: mcpMethod.method } },
    { kind: 'mcp.session.end', summary: '`DELETE`: end the session', attrs: { method: mcpMethod.method } },
  ],
};

const kubeAttrs = {
  verb: 'the verb the API server authorizes (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`, `proxy`; `create` for exec/attach/portforward)',
  apiGroup: "the API group (`''` for the core group)",
  apiVersion: '`v1`, `apps/v1`, …',
  resource: 'the resource (`deployments`)',
  subresource: "the subresource (`scale`, `status`, `log`, `exec`, …; `''` when none)",
  namespace: "the namespace (`''` when cluster-scoped or across all namespaces)",
  name: 'the object name (also from a `metadata.name=` field selector)',
  namespaced: 'true when the request names a namespace',
  protectedNamespace: "true when the namespace matches the connection's `options.protectedNamespaces` (blocks nothing by itself: a rule must test it)",
  dryRun: "true for a server dry run (`?dryRun=All`, or in a delete's `DeleteOptions`)",
  mutating: 'true for a write that is not a dry run or a self-review',
  scaleToZero: 'true when a write sets `spec.replicas` to 0 (or to a value that cannot be proven non-zero)',
  replicas: 'the `spec.replicas` a scale-sensitive write sets (null when unknown)',
  patchType: '`json`, `merge`, `strategic` or `apply`',
  apply: 'true for a server-side apply',
  force: 'server-side apply with `force=true`',
  fieldManager: 'the `fieldManager` query parameter',
  labelSelector: 'the `labelSelector` query parameter',
  fieldSelector: 'the `fieldSelector` query parameter',
  propagationPolicy: "a delete's `DeleteOptions.propagationPolicy`",
  gracePeriodSeconds: "a delete's `DeleteOptions.gracePeriodSeconds`",
  namespaceDeletion: 'true when a namespace is deleted',
  secretsInClear: 'Secrets: true when a rule allows `kubernetes.secret_read.clear` (values returned unmasked)',
  container: 'exec/attach: the container',
  command: 'exec: the command and its arguments',
  tty: 'exec/attach: a terminal was asked for',
  stdin: 'exec/attach: stdin is attached',
  ports: 'portforward: the ports',
} as const;
const kubeNonResourceAttrs = {
  verb: 'the lower-case method as a verb',
  path: 'the path after the connection name',
  nonResource: 'always true',
  mutating: 'true unless a read',
} as const;

/** Kubernetes: every resource request is `kubernetes.<verb>` and, when it is one, also a named action (all must be allowed). */
const kubernetes: CatalogueAdapter = {
  type: 'kubernetes',
  optionAttrs: { protectedNamespaces: 'protectedNamespace' },
  kinds: [
    {
      kind: 'kubernetes.<verb>',
      values: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'proxy'].map((v) => `kubernetes.${v}`),
      summary: 'every resource request, by the verb the API server authorizes (`kubectl auth can-i` and other self-reviews are `kubernetes.get`)',
      attrs: kubeAttrs,
    },
    { kind: 'kubernetes.exec', summary: '`pods/exec` (WebSocket or SPDY upgrade), besides `kubernetes.create`', attrs: kubeAttrs },
    { kind: 'kubernetes.attach', summary: '`pods/attach`, besides `kubernetes.create`', attrs: kubeAttrs },
    { kind: 'kubernetes.portforward', summary: '`pods/portforward`, besides `kubernetes.create`', attrs: kubeAttrs },
    {
      kind: 'kubernetes.scale_to_zero',
      summary: 'a `scale` write or a workload update/patch that sets `spec.replicas` to 0 (or to an unprovable value)',
      attrs: kubeAttrs,
    },
    { kind: 'kubernetes.namespace_delete', summary: 'a namespace deleted (also a `kubernetes.delete`)', attrs: kubeAttrs },
    { kind: 'kubernetes.rbac_change', summary: 'a write to `rbac.authorization.k8s.io` (roles, bindings), dry runs included', attrs: kubeAttrs },
    { kind: 'kubernetes.admission_change', summary: 'a write to `admissionregistration.k8s.io` (webhooks, policies), dry runs included', attrs: kubeAttrs },
    {
      kind: 'kubernetes.secret_read',
      summary: 'a Secret get, list or watch (values masked unless `kubernetes.secret_read.clear` is allowed)',
      attrs: kubeAttrs,
    },
    { kind: 'kubernetes.secret_read.clear', summary: 'asked for a Secret read: allowed by a named rule, the values are returned in clear', attrs: kubeAttrs },
    {
      kind: 'kubernetes.discovery',
      summary: 'discovery, OpenAPI, version and health reads (allowed by the built-in rule `kubernetes-discovery`)',
      attrs: kubeNonResourceAttrs,
    },
    { kind: 'kubernetes.nonresource', summary: 'any other non-resource path (writes to discovery paths included)', attrs: kubeNonResourceAttrs },
  ],
};

/** The adapters' action kinds and attributes, one entry per adapter (connection `type`). */
export const ACTION_CATALOGUE: ActionCatalogue = [http, git, llm, registry, mcp, kubernetes];
